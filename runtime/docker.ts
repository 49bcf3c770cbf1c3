import Docker from "dockerode";

/** The one place dockerode is constructed: $DOCKER_HOST (unix://) or the default socket. */
export function createDocker(env: NodeJS.ProcessEnv = process.env): Docker {
  const host = env.DOCKER_HOST;
  if (host?.startsWith("unix://")) return new Docker({ socketPath: host.slice("unix://".length) });
  return new Docker({ socketPath: "/var/run/docker.sock" });
}
