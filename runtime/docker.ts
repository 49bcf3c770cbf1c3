import Docker from "dockerode";

/** The unix socket dockerd listens on: $DOCKER_HOST (unix://) or the default. */
export function dockerSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  return host?.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock";
}

/** The one place dockerode is constructed (the daemon, tests). */
export function createDocker(env: NodeJS.ProcessEnv = process.env): Docker {
  return new Docker({ socketPath: dockerSocketPath(env) });
}
