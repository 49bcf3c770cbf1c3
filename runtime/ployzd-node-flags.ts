/**
 * Node flags for every launcher of ployzd (`ployzctl dev up`, a systemd unit, the benchmarks):
 * young-generation semi-spaces of 1 MiB instead of V8's default of up to 16 MiB. ployzd
 * allocates little and steadily; the default kept about 8 MiB of resident memory for nothing
 * (idle RSS 72 → 64 MiB here). V8 reads the flag only at start-up, so it cannot be set from
 * inside the process.
 */
export const PLOYZD_NODE_FLAGS: readonly string[] = ["--max-semi-space-size=1"];
