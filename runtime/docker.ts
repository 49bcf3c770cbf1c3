import Docker from "dockerode";

/** Where dockerd listens: $DOCKER_HOST (unix://) or the default socket. */
function dockerOptions(env: NodeJS.ProcessEnv): Docker.DockerOptions {
  const host = env.DOCKER_HOST;
  return { socketPath: host?.startsWith("unix://") ? host.slice("unix://".length) : "/var/run/docker.sock" };
}

/** The one place dockerode is constructed (the daemon, tests). */
export function createDocker(env: NodeJS.ProcessEnv = process.env): Docker {
  return new Docker(dockerOptions(env));
}
