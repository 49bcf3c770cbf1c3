import { Box, Text } from "ink";
import type { MachineView } from "../../model/top-model.ts";
import { clip } from "./text.ts";

/** Choose one machine to show, or every one. Line 0 is "every machine". */
export function MachinePicker({ machines, index, width }: { machines: readonly MachineView[]; index: number; width: number }) {
  const lines = ["every machine", ...machines.map((m) => `${m.id}${m.region ? ` (${m.region})` : ""}${m.liveness === "live" ? "" : m.liveness === "waiting" ? " — waiting" : " — unreachable"}`)];
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>show which machine? (enter picks, esc cancels)</Text>
      {lines.map((line, i) => (
        <Text key={i} inverse={i === index} wrap="truncate-end">
          {clip(`  ${line}`, width)}
        </Text>
      ))}
    </Box>
  );
}
