// Parts of dependencies that Ployz never runs, replaced in the bundles by a function that says so
// if it is ever called (bin/bundle.js). Loading them cost ployzd about 60 ms of every start.

/** dockerode's BuildKit sessions (gRPC, protobufjs): Ployz builds no images through dockerode. */
export function withSession() {
  throw new Error("dockerode's BuildKit sessions are left out of the Ployz bundle (bin/bundle-stubs.js)");
}

/** dockerode's BuildKit progress decoding (protobufjs); docker.modem.followProgress is the one Ployz uses. */
export function buildkitProgress() {
  throw new Error("dockerode's followProgress (BuildKit) is left out of the Ployz bundle (bin/bundle-stubs.js); use docker.modem.followProgress");
}

/** docker-modem's ssh:// transport (ssh2): Ployz talks to dockerd over its unix socket. */
export function sshAgent() {
  throw new Error("docker-modem's ssh:// transport is left out of the Ployz bundle (bin/bundle-stubs.js); use a unix:// DOCKER_HOST");
}
