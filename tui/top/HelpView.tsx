import { Box, Text } from "ink";

const KEYS: Array<[string, string]> = [
  ["↑ ↓  j k", "move the selection (PgUp PgDn, g G: further)"],
  ["enter  →", "open the selected actor: statechart, context, last events"],
  ["esc  ←", "back; in the list: clear the filter and the machine choice"],
  ["/", "filter actors by name, path, state, event or error (enter keeps it, esc clears it)"],
  ["m", "show one machine, or every one"],
  ["?", "this help"],
  ["q", "quit"],
];

/** The keys, and what `top` shows. */
export function HelpView({ width }: { width: number }) {
  return (
    <Box flexDirection="column" width={width}>
      <Text bold>keys</Text>
      {KEYS.map(([key, what]) => (
        <Text key={key} wrap="truncate-end">
          <Text color="cyan">{`  ${key.padEnd(10)}`}</Text>
          {what}
        </Text>
      ))}
      <Text> </Text>
      <Text wrap="wrap">A machine whose inspector has not published for 5 s is shown UNREACHABLE with the age of its last snapshot; its actors are dimmed: that is their last known state, not their state now.</Text>
      <Text wrap="wrap">RST counts the restarts of a supervised actor; red is failed or in error, yellow is backing off.</Text>
      <Text dimColor>any key closes this help</Text>
    </Box>
  );
}
