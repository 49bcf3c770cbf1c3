#!/usr/bin/env node
// The node daemon.
import { loadEntry } from "./load-entry.js";

const { ployzdMain } = await loadEntry("ployzd");
await ployzdMain(process.argv);
