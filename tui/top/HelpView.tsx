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
      <Text wrap="wrap">top asks every machine for its actors when it starts; one that has not answered yet is "waiting for the first snapshot". A machine that cannot answer (no responder, no answer in 2 s), or whose inspector has not published for 5 s, is shown UNREACHABLE with why and the age of its last snapshot; its actors are dimmed: that is their last known state, not their state now. Finished deploys leave the tree after 5 s; the header keeps them under "recent".</Text>
      <Text wrap="wrap">RST counts the restarts of a supervised actor; red is failed or in error, yellow is backing off.</Text>
      <Text dimColor>any key closes this help</Text>
    </Box>
  );
}
