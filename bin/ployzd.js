#!/usr/bin/env node
// The node daemon. Sources are TypeScript, run through tsx's loader.
import { register } from "tsx/esm/api";

register();
const { ployzdMain } = await import("../runtime/ployzd.ts");
await ployzdMain(process.argv);
