#!/usr/bin/env node
// The operator's command line (also installed as `ployz`). Sources are TypeScript, run through tsx.
import { register } from "tsx/esm/api";

register();
const { main } = await import("../cli/main.ts");
await main(process.argv);
