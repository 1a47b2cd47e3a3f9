/**
 * A strict parser of the Prometheus text exposition format (0.0.4), enough to prove /metrics
 * is well-formed: every sample belongs to a family declared by # TYPE, names and labels are
 * legal, values are numbers. Throws on the first bad line.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const SAMPLE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)(\s+-?\d+)?$/;
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\["\\n])*)"(?:,|$)/y;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parsePrometheus(text: string): { types: Map<string, string>; samples: Sample[] } {
  const types = new Map<string, string>();
  const samples: Sample[] = [];
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    const where = `line ${i + 1} "${line}"`;
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (!m) throw new Error(`bad comment at ${where}`);
      if (!NAME.test(m[2]!)) throw new Error(`bad metric name at ${where}`);
      if (m[1] === 'TYPE') {
        if (!TYPES.has(m[3]!)) throw new Error(`bad type at ${where}`);
        if (types.has(m[2]!)) throw new Error(`second TYPE for ${m[2]} at ${where}`);
        types.set(m[2]!, m[3]!);
      }
      return;
    }
    const m = SAMPLE.exec(line);
    if (!m) throw new Error(`bad sample at ${where}`);
    const name = m[1]!;
    const family = [...types.keys()].find((f) => name === f || ((types.get(f) === 'histogram' || types.get(f) === 'summary') && /^(_bucket|_sum|_count)$/.test(name.slice(f.length)) && name.startsWith(f)));
    if (!family) throw new Error(`sample before its # TYPE at ${where}`);
    const labels: Record<string, string> = {};
    if (m[3]) {
      LABEL.lastIndex = 0;
      while (LABEL.lastIndex < m[3].length) {
        const l = LABEL.exec(m[3]);
        if (!l) throw new Error(`bad labels at ${where}`);
        labels[l[1]!] = l[2]!;
      }
    }
    const value = m[4] === '+Inf' ? Infinity : m[4] === '-Inf' ? -Infinity : m[4] === 'NaN' ? NaN : Number(m[4]);
    if (m[4] !== 'NaN' && Number.isNaN(value)) throw new Error(`bad value at ${where}`);
    samples.push({ name, labels, value });
  });
  return { types, samples };
}

/** Sum of the samples named `name` whose labels include `labels`. */
export function sumOf(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)).reduce((a, s) => a + s.value, 0);
}
