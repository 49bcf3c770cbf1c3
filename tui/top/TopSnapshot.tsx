import { Box } from "ink";
import type { TopView } from "../../model/top-model.ts";
import { ActorList } from "./ActorList.tsx";
import { Header } from "./Header.tsx";
import { listRows } from "./rows.ts";

/** `ployz top --once`: the header and every actor, at full length, nothing selected. */
export function TopSnapshot({ view, context, width, machine }: { view: TopView; context: string; width: number; machine?: string | undefined }) {
  const rows = listRows(view, { machine });
  return (
    <Box flexDirection="column" width={width}>
      <Header header={view.header} now={view.now} width={width} context={context} />
      <ActorList rows={rows} selected={undefined} width={width} height={rows.length + 2} />
    </Box>
  );
}
