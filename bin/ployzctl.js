#!/usr/bin/env node
// The operator's command line (also installed as `ployz`).
import { loadEntry } from "./load-entry.js";

const { main } = await loadEntry("ployzctl");
await main(process.argv);
