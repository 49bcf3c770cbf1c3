/**
 * What Ployz does with every attribute of the Compose Specification: supported (and how it maps
 * onto the Ployz manifest), accepted and ignored on purpose (and why), or refused (and why, with
 * what to write instead where there is an equivalent). The Compose converter checks keys against
 * this table, `docs/compose.md` is generated from it, and a test compares it with the
 * specification's JSON schema (vendor/compose-spec/), so no attribute is ever dropped unnoticed.
 */

/** One attribute's fate. */
export type Coverage =
  | { status: "supported"; how: string }
  | { status: "ignored"; why: string }
  | { status: "refused"; why: string };

/** The parts of a Compose file whose attributes are classified, and the schema definition each one is. */
export const COVERAGE_SECTIONS = {
  file: { title: "The file (top level)", schema: "" },
  service: { title: "services.<name>", schema: "service" },
  deploy: { title: "services.<name>.deploy", schema: "deployment" },
  healthcheck: { title: "services.<name>.healthcheck", schema: "healthcheck" },
  volume: { title: "volumes.<name>", schema: "volume" },
  config: { title: "configs.<name>", schema: "config" },
  secret: { title: "secrets.<name>", schema: "secret" },
  network: { title: "networks.<name>", schema: "network" },
} as const;
export type CoverageSection = keyof typeof COVERAGE_SECTIONS;

const supported = (how: string): Coverage => ({ status: "supported", how });
const ignored = (why: string): Coverage => ({ status: "ignored", why });
const refused = (why: string): Coverage => ({ status: "refused", why });

const ONE_NETWORK = "the services of a namespace share one network and reach each other by service name";
const CLUSTER_DNS = "containers use the cluster DNS, which resolves <service> and <service>.<namespace>.ployz.internal";
const ANY_MACHINE = "a replica may run on any machine of the cluster";
const NO_HOST_ACCESS = "Ployz does not give containers access to the machine beyond their mounts";
const RESOURCES = "use deploy.resources (reservations are what Ployz places by)";

export const COMPOSE_COVERAGE: { [S in CoverageSection]: Record<string, Coverage> } = {
  file: {
    version: ignored("obsolete in the Compose Specification; Compose ignores it too"),
    name: supported("the namespace, unless -n names one"),
    include: refused("Ployz deploys one file: merge the included files into it"),
    services: supported("services, one Ployz service each (those in a profile only with --profile)"),
    models: refused("Ployz does not run language models"),
    networks: ignored(`${ONE_NETWORK}; each network's attributes are checked (see networks.<name>)`),
    volumes: supported("volumes of the namespace"),
    secrets: supported("secrets, kept in the cluster's secret store"),
    configs: supported("config contents, copied into the spec"),
  },
  service: {
    develop: ignored("for `docker compose watch` on a developer's machine; a deploy does not watch files"),
    deploy: supported("mode, replicas, resources and placement (see services.<name>.deploy)"),
    annotations: refused("dockerd 20.10 has no container annotations; use labels:"),
    attach: ignored("whether `docker compose up` prints the service's logs; use ployzctl logs"),
    build: refused("build the image and push it (docker build, then ployzctl image push), then name it in image:"),
    blkio_config: refused("Ployz does not limit block I/O"),
    cap_add: supported("capAdd (HostConfig.CapAdd)"),
    cap_drop: supported("capDrop (HostConfig.CapDrop)"),
    cgroup: refused("containers get their own cgroup namespace"),
    cgroup_parent: refused("Ployz places containers in Docker's default cgroup"),
    command: supported("command (a string is split into words as a shell would)"),
    configs: supported("configs: files with target, uid, gid and mode, mounted read-only"),
    container_name: ignored("Ployz names each replica's container itself (one name cannot serve several replicas or a replacement started beside the old); the service is reachable by its service name"),
    cpu_count: refused(RESOURCES),
    cpu_percent: refused(RESOURCES),
    cpu_shares: refused(RESOURCES),
    cpu_quota: refused(RESOURCES),
    cpu_period: refused(RESOURCES),
    cpu_rt_period: refused("Ployz does not schedule real-time tasks"),
    cpu_rt_runtime: refused("Ployz does not schedule real-time tasks"),
    cpus: refused("use deploy.resources.limits.cpus or deploy.resources.reservations.cpus"),
    cpuset: refused(`${ANY_MACHINE}, whose CPUs are not known in advance`),
    credential_spec: refused("Windows containers only"),
    depends_on: supported("dependsOn: service_started or service_healthy, required, no restart"),
    device_cgroup_rules: refused(NO_HOST_ACCESS),
    devices: refused(NO_HOST_ACCESS),
    dns: refused(CLUSTER_DNS),
    dns_opt: refused(CLUSTER_DNS),
    dns_search: refused(CLUSTER_DNS),
    domainname: refused(CLUSTER_DNS),
    entrypoint: supported("entrypoint"),
    env_file: supported("env: the files' variables, read beside the Compose file at deploy time; environment: wins"),
    label_file: refused("write the labels under labels:"),
    environment: supported("env (a variable without a value is refused: write KEY: ${KEY} to take it from your environment)"),
    expose: supported("ports without a published port"),
    extends: refused("merge the extended service into this one, or share fields with a YAML anchor (x-common: &common, then <<: *common)"),
    provider: refused("Ployz runs containers only"),
    external_links: refused(ONE_NETWORK),
    extra_hosts: refused(`${ANY_MACHINE}; give the other end a service name, which the cluster DNS resolves`),
    gpus: refused("Ployz does not place by GPU"),
    group_add: refused("use user: UID:GID"),
    healthcheck: supported("readiness (an exec probe during deploys) and the container's own Docker healthcheck (see services.<name>.healthcheck)"),
    hostname: refused("every replica would claim the same name; a replica is <slot>.<service>.<namespace>.ployz.internal"),
    image: supported("image, from the machine's dockerd or the cluster's image store (ployzctl image push)"),
    init: supported("Ployz always runs an init as PID 1 (so stops are graceful); init: false is refused"),
    ipc: refused("containers get their own IPC namespace"),
    isolation: refused("Windows containers only"),
    labels: supported("labels (the ployz. prefix is reserved)"),
    links: refused(ONE_NETWORK),
    logging: refused("ployzctl logs reads the machine's default log driver"),
    mac_address: refused("Docker assigns addresses"),
    mem_limit: refused("use deploy.resources.limits.memory"),
    mem_reservation: refused("use deploy.resources.reservations.memory"),
    mem_swappiness: refused("Ployz does not tune swap"),
    memswap_limit: refused("Ployz does not tune swap"),
    network_mode: refused(ONE_NETWORK),
    models: refused("Ployz does not run language models"),
    networks: ignored(`${ONE_NETWORK}; network names are accepted, per-network options (aliases, addresses, priorities) are refused`),
    oom_kill_disable: refused("an out-of-memory container is killed and restarted"),
    oom_score_adj: refused("Ployz does not tune the OOM killer"),
    pid: refused("containers get their own PID namespace"),
    pids_limit: refused(RESOURCES),
    platform: refused("the machine runs the image for its own platform"),
    ports: supported("ports: published on 127.0.0.1 only, and routed through the gateway as <service>.<namespace>.localhost"),
    pre_start: refused("run the step in the service's own command"),
    post_start: refused("run the step in the service's own command"),
    pre_stop: refused("handle the stop signal (stop_signal:) in the service"),
    privileged: refused(NO_HOST_ACCESS),
    profiles: supported("only services without profiles are deployed, plus those in a profile given with --profile (or COMPOSE_PROFILES)"),
    pull_policy: ignored("Ployz takes images from the machine's dockerd or the cluster's image store, never from a registry"),
    pull_refresh_after: ignored("Ployz never pulls from a registry"),
    read_only: supported("readOnly (HostConfig.ReadonlyRootfs)"),
    restart: supported("restart: no, always, on-failure or unless-stopped (no retry limit)"),
    runtime: refused("containers run with the machine's default runtime"),
    scale: supported("replicas (deploy.replicas, when both are given, must agree)"),
    security_opt: refused(NO_HOST_ACCESS),
    shm_size: refused("Docker's default /dev/shm size applies; mount a bigger one with tmpfs:"),
    secrets: supported("secrets: files under /run/secrets (or target) with uid, gid and mode; values come from the cluster's secret store"),
    sysctls: refused(NO_HOST_ACCESS),
    stdin_open: ignored("Ployz never attaches to a container's input"),
    stop_grace_period: supported("stopGracePeriod (Docker StopTimeout, whole seconds)"),
    stop_signal: supported("stopSignal (Docker StopSignal)"),
    storage_opt: refused("Ployz does not size a container's writable layer"),
    tmpfs: supported("tmpfs mounts (HostConfig.Tmpfs)"),
    tty: ignored("Ployz never attaches a terminal; ployzctl logs reads the container's output without one"),
    ulimits: supported("ulimits (HostConfig.Ulimits)"),
    use_api_socket: refused(NO_HOST_ACCESS),
    user: supported("user (Docker User)"),
    uts: refused("containers get their own UTS namespace"),
    userns_mode: refused("containers use dockerd's user namespace setting"),
    volumes: supported("volumes: named volumes, tmpfs, and binds (resolved beside the Compose file; only under a directory allowed for the namespace, see ployzctl namespace allow-bind; :ro and read_only are read-only binds)"),
    volumes_from: refused("mount the same named volume in both services"),
    working_dir: supported("workingDir (Docker WorkingDir)"),
  },
  deploy: {
    mode: supported("mode: replicated or global"),
    endpoint_mode: refused("services are reached through the cluster DNS, which answers with every ready replica"),
    replicas: supported("replicas"),
    labels: refused("Ployz has no service objects to label; put them under the service's labels:"),
    rollback_config: refused("a failed deploy always removes what it started; roll back with ployzctl rollback"),
    update_config: refused("Ployz starts every new replica beside the old ones and switches when all are ready"),
    resources: supported("resources: cpus and memory, reservations first, else limits (Ployz places by them)"),
    restart_policy: refused("use restart: on the service"),
    placement: supported("placement: constraints node.labels.region == R and node.labels.zone == Z; preferences and max_replicas_per_node are refused"),
  },
  healthcheck: {
    disable: supported("disable: true is test: [NONE]: no readiness probe, and the image's own healthcheck is turned off"),
    interval: supported("interval"),
    retries: supported("retries"),
    test: supported('test: CMD, CMD-SHELL, a string (CMD-SHELL), or NONE'),
    timeout: supported("timeout"),
    start_period: supported("startPeriod"),
    start_interval: refused("use interval:"),
  },
  volume: {
    name: supported("the volume's real name: the Ployz volume of the namespace, or with external: true the existing Docker volume"),
    driver: supported('driver: local only (the default); Ployz manages where volumes live'),
    driver_opts: refused("Ployz manages where volumes live"),
    external: supported("external: the existing Docker volume (name:, else the key), which must exist on the machine"),
    labels: refused("Ployz creates the volume itself and does not label it"),
  },
  config: {
    name: ignored("the content is copied into the spec, so its name on a platform does not matter"),
    content: supported("the config's content"),
    environment: supported("the content is the value of that variable (your environment, then .env)"),
    file: supported("the content of that file, beside the Compose file"),
    external: refused("Ployz has no config store: write file: or content:"),
    labels: ignored("labels on the config object itself; Ployz keeps no config objects"),
    template_driver: refused("Ployz does not render templates: write the final content"),
  },
  secret: {
    name: ignored("the secret is stored as secret <key> of the namespace"),
    environment: supported("the value of that variable (your environment, then .env), stored in the cluster's secret store"),
    file: supported("the content of that file, beside the Compose file, stored in the cluster's secret store"),
    external: refused("give the value with file: or environment:"),
    labels: ignored("labels on the secret object itself; Ployz keeps only the value"),
    driver: refused("secrets live in the cluster's secret store"),
    driver_opts: refused("secrets live in the cluster's secret store"),
    template_driver: refused("Ployz does not render templates"),
  },
  network: {
    name: ignored(ONE_NETWORK),
    driver: ignored(`${ONE_NETWORK}; only bridge (the default) is accepted`),
    driver_opts: refused(ONE_NETWORK),
    ipam: refused("Docker assigns addresses"),
    external: refused(ONE_NETWORK),
    internal: refused(`${ONE_NETWORK}, which reaches outside`),
    enable_ipv4: ignored("the namespace's network has IPv4; false is refused"),
    enable_ipv6: refused("the namespace's network is IPv4"),
    attachable: ignored("only Ployz attaches containers"),
    labels: ignored("labels on the network object itself; Ployz keeps no network objects"),
  },
};

/** The table's entry for `key` in `section`, or undefined for a key the specification does not have. */
export function coverageOf(section: CoverageSection, key: string): Coverage | undefined {
  return Object.hasOwn(COMPOSE_COVERAGE[section], key) ? COMPOSE_COVERAGE[section][key] : undefined;
}

/** How many attributes are supported, ignored and refused, over every section. */
export function coverageCounts(): Record<Coverage["status"], number> {
  const counts = { supported: 0, ignored: 0, refused: 0 };
  for (const section of Object.values(COMPOSE_COVERAGE)) for (const entry of Object.values(section)) counts[entry.status]++;
  return counts;
}
