/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), written from the
 * format's specification, for tests: whatever a real Prometheus would refuse or read differently
 * throws here, naming the line. It checks what a lenient parser lets through: names and label
 * syntax, escapes, float values (NaN, ±Inf), one TYPE and HELP per family before its samples,
 * families not interleaved, no series twice, histogram buckets cumulative with `+Inf` equal to
 * `_count`, and a final newline.
 */

export type MetricType = "counter" | "gauge" | "histogram" | "summary" | "untyped";

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: MetricType;
  help?: string;
  samples: Sample[];
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(["counter", "gauge", "histogram", "summary", "untyped"]);

export function parsePrometheusText(text: string): Map<string, MetricFamily> {
  if (text.length > 0 && !text.endsWith("\n")) throw new Error("the exposition does not end with a newline");
  const families = new Map<string, MetricFamily>();
  const closed = new Set<string>();
  let current: MetricFamily | undefined;
  const seen = new Set<string>();
  const lines = text.split("\n");
  lines.pop();
  const familyOf = (name: string, lineNo: number, forSample: boolean): MetricFamily => {
    const base = forSample ? familyNameOfSample(name, families) : name;
    if (current?.name !== base) {
      if (current) closed.add(current.name);
      if (closed.has(base)) throw new Error(`line ${lineNo}: metric family ${base} appears again after another family (families must not interleave)`);
      current = families.get(base) ?? { name: base, type: "untyped", samples: [] };
      families.set(base, current);
    }
    return current;
  };
  lines.forEach((line, index) => {
    const lineNo = index + 1;
    if (line.trim() === "") return;
    if (line.startsWith("#")) {
      const match = /^#\s+(HELP|TYPE)\s+(\S+)(?:\s(.*))?$/.exec(line);
      if (!match) return; // an ordinary comment
      const [, keyword, name, rest = ""] = match;
      if (!METRIC_NAME.test(name!)) throw new Error(`line ${lineNo}: ${keyword} names an invalid metric name ${JSON.stringify(name)}`);
      const family = familyOf(name!, lineNo, false);
      if (keyword === "HELP") {
        if (family.help !== undefined) throw new Error(`line ${lineNo}: a second HELP for ${name}`);
        family.help = unescapeHelp(rest, lineNo);
      } else {
        if (!TYPES.has(rest)) throw new Error(`line ${lineNo}: unknown TYPE ${JSON.stringify(rest)} for ${name}`);
        if (family.samples.length > 0) throw new Error(`line ${lineNo}: TYPE of ${name} after its samples`);
        if ((family as { typed?: boolean }).typed) throw new Error(`line ${lineNo}: a second TYPE for ${name}`);
        (family as { typed?: boolean }).typed = true;
        family.type = rest as MetricType;
      }
      return;
    }
    const sample = parseSampleLine(line, lineNo);
    const family = familyOf(sample.name, lineNo, true);
    checkSampleName(family, sample, lineNo);
    const key = `${sample.name}{${Object.entries(sample.labels).sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, v]) => `${k}=${JSON.stringify(v)}`).join(",")}}`;
    if (seen.has(key)) throw new Error(`line ${lineNo}: series ${key} appears twice`);
    seen.add(key);
    family.samples.push(sample);
  });
  for (const family of families.values()) {
    delete (family as { typed?: boolean }).typed;
    if (family.type === "histogram") checkHistogram(family);
  }
  return families;
}

/** The family a sample belongs to: `x_bucket`, `x_sum`, `x_count` of a histogram or summary `x` are `x`'s. */
function familyNameOfSample(name: string, families: Map<string, MetricFamily>): string {
  for (const suffix of ["_bucket", "_sum", "_count"]) {
    if (!name.endsWith(suffix)) continue;
    const base = name.slice(0, -suffix.length);
    const family = families.get(base);
    if (family && (family.type === "histogram" || (family.type === "summary" && suffix !== "_bucket"))) return base;
  }
  return name;
}

function checkSampleName(family: MetricFamily, sample: Sample, lineNo: number): void {
  if (family.type === "histogram") {
    if (![`${family.name}_bucket`, `${family.name}_sum`, `${family.name}_count`].includes(sample.name)) throw new Error(`line ${lineNo}: ${sample.name} in histogram ${family.name}`);
    if (sample.name.endsWith("_bucket") && sample.labels.le === undefined) throw new Error(`line ${lineNo}: a bucket of ${family.name} without le`);
  } else if (family.type === "summary") {
    if (sample.name === family.name && sample.labels.quantile === undefined) throw new Error(`line ${lineNo}: a quantile of ${family.name} without the quantile label`);
  } else if (sample.name !== family.name) {
    throw new Error(`line ${lineNo}: ${sample.name} inside family ${family.name}`);
  }
}

function checkHistogram(family: MetricFamily): void {
  const series = new Map<string, { buckets: Array<{ le: number; value: number }>; count?: number }>();
  for (const sample of family.samples) {
    const { le, ...rest } = sample.labels;
    const key = JSON.stringify(Object.entries(rest).sort());
    const entry = series.get(key) ?? { buckets: [] };
    series.set(key, entry);
    if (sample.name.endsWith("_bucket")) entry.buckets.push({ le: parseFloatStrict(le!, `le of ${family.name}`), value: sample.value });
    if (sample.name.endsWith("_count")) entry.count = sample.value;
  }
  for (const [key, entry] of series) {
    const sorted = [...entry.buckets].sort((a, b) => a.le - b.le);
    for (let i = 1; i < sorted.length; i++) if (sorted[i]!.value < sorted[i - 1]!.value) throw new Error(`histogram ${family.name} ${key}: buckets are not cumulative`);
    const inf = sorted.at(-1);
    if (!inf || inf.le !== Number.POSITIVE_INFINITY) throw new Error(`histogram ${family.name} ${key}: no +Inf bucket`);
    if (entry.count === undefined || entry.count !== inf.value) throw new Error(`histogram ${family.name} ${key}: _count ${entry.count} is not the +Inf bucket ${inf.value}`);
  }
}

function parseSampleLine(line: string, lineNo: number): Sample {
  const nameMatch = /^[a-zA-Z_:][a-zA-Z0-9_:]*/.exec(line);
  if (!nameMatch) throw new Error(`line ${lineNo}: no metric name in ${JSON.stringify(line)}`);
  const name = nameMatch[0];
  let at = name.length;
  const labels: Record<string, string> = {};
  if (line[at] === "{") {
    at++;
    for (;;) {
      if (line[at] === "}") {
        at++;
        break;
      }
      const labelMatch = /^[a-zA-Z_][a-zA-Z0-9_]*/.exec(line.slice(at));
      if (!labelMatch || !LABEL_NAME.test(labelMatch[0])) throw new Error(`line ${lineNo}: a bad label name at column ${at + 1}`);
      const label = labelMatch[0];
      at += label.length;
      if (line.slice(at, at + 2) !== '="') throw new Error(`line ${lineNo}: label ${label} is not followed by ="`);
      at += 2;
      let value = "";
      for (;;) {
        const c = line[at];
        if (c === undefined) throw new Error(`line ${lineNo}: label ${label}'s value is not closed`);
        at++;
        if (c === '"') break;
        if (c === "\\") {
          const next = line[at++];
          if (next === "\\") value += "\\";
          else if (next === '"') value += '"';
          else if (next === "n") value += "\n";
          else throw new Error(`line ${lineNo}: unknown escape \\${next ?? ""} in label ${label}`);
        } else value += c;
      }
      if (label in labels) throw new Error(`line ${lineNo}: label ${label} twice`);
      labels[label] = value;
      if (line[at] === ",") at++;
      else if (line[at] !== "}") throw new Error(`line ${lineNo}: expected , or } after label ${label}`);
    }
  }
  const rest = line.slice(at);
  const parts = /^[ \t]+(\S+)(?:[ \t]+(-?\d+))?[ \t]*$/.exec(rest);
  if (!parts) throw new Error(`line ${lineNo}: expected a value (and an optional timestamp) after ${name}: ${JSON.stringify(rest)}`);
  return { name, labels, value: parseFloatStrict(parts[1]!, `line ${lineNo}`) };
}

/** A float as Prometheus reads it (Go's strconv.ParseFloat): decimal or exponent notation; NaN and Inf in any case. */
function parseFloatStrict(text: string, where: string): number {
  const lower = text.toLowerCase();
  if (lower === "nan") return Number.NaN;
  if (["inf", "+inf", "infinity", "+infinity"].includes(lower)) return Number.POSITIVE_INFINITY;
  if (["-inf", "-infinity"].includes(lower)) return Number.NEGATIVE_INFINITY;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(text)) throw new Error(`${where}: ${JSON.stringify(text)} is not a float`);
  return Number(text);
}

function unescapeHelp(text: string, lineNo: number): string {
  return text.replace(/\\(.)/g, (_, c: string) => {
    if (c === "\\") return "\\";
    if (c === "n") return "\n";
    throw new Error(`line ${lineNo}: unknown escape \\${c} in HELP`);
  });
}
