// Runs the pgembed benchmark workloads on PGlite. Driven by dev.pgembed.benchmarks.PgliteEngine:
// one JSON request per line on stdin, one JSON answer per line on stdout ({"error": "..."} on failure).
// Statements, parameters and transaction boundaries come from the Java harness, so every engine runs
// the same workload; statement timings are taken here, in the PGlite process.
//
//   {"op":"open","dir":"/path"|null,"relaxed":false}  -> {"ms":...}     (null dir: in memory)
//   {"op":"exec","sql":"..."}                          -> {"ok":true}
//   {"op":"run","tx":true,"steps":[{"sql":"... $1","params":[[...]]|null,"query":false}]} -> {"ms":...}
//   {"op":"latency","sql":"SELECT 1","warmup":N,"samples":M}  -> {"mean":us,"p50":us,"p99":us}
//   {"op":"bulk","rows":N}                             -> {"ms":...}     (COPY FROM '/dev/blob')
//   {"op":"version"}                                   -> {"version":"..."}
//   {"op":"close"}                                     -> {"ok":true}
import { PGlite } from '@electric-sql/pglite';
import { createInterface } from 'node:readline';
import { readFileSync } from 'node:fs';

let db = null;

const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');

async function step(q, s, inTx) {
  if (!s.params) {
    await q.query(s.sql);
    return;
  }
  for (const p of s.params) {
    const r = await q.query(s.sql, p);
    if (s.query) {
      // rows are already materialised by PGlite; touch them like the Java engines read every column
      for (const row of r.rows) for (const k in row) void row[k];
    }
  }
}

function bulkText(rows) {
  const parts = new Array(rows);
  for (let i = 1; i <= rows; i++) {
    const n = Number((BigInt(i) * 7919n) % 1000003n);
    parts[i - 1] = `${i}\t${n}\trow ${i} of the bulk load\n`;
  }
  return parts.join('');
}

async function handle(r) {
  switch (r.op) {
    case 'version': {
      const pkg = JSON.parse(readFileSync(new URL('./node_modules/@electric-sql/pglite/package.json', import.meta.url)));
      return { version: pkg.version, node: process.version };
    }
    case 'open': {
      const t0 = performance.now();
      db = r.dir ? new PGlite(r.dir, { relaxedDurability: !!r.relaxed }) : new PGlite({ relaxedDurability: !!r.relaxed });
      await db.waitReady;
      await db.query('SELECT 1');
      return { ms: performance.now() - t0 };
    }
    case 'close':
      if (db) await db.close();
      db = null;
      return { ok: true };
    case 'exec':
      await db.exec(r.sql);
      return { ok: true };
    case 'run': {
      const t0 = performance.now();
      if (r.tx) {
        await db.transaction(async (tx) => {
          for (const s of r.steps) await step(tx, s, true);
        });
      } else {
        for (const s of r.steps) await step(db, s, false);
      }
      return { ms: performance.now() - t0 };
    }
    case 'latency': {
      for (let i = 0; i < r.warmup; i++) await db.query(r.sql);
      const ns = new Array(r.samples);
      for (let i = 0; i < r.samples; i++) {
        const t0 = process.hrtime.bigint();
        await db.query(r.sql);
        ns[i] = Number(process.hrtime.bigint() - t0);
      }
      const sum = ns.reduce((a, b) => a + b, 0);
      ns.sort((a, b) => a - b);
      const pct = (p) => ns[Math.max(0, Math.min(ns.length - 1, Math.ceil(p * ns.length) - 1))];
      return { mean: sum / ns.length / 1e3, p50: pct(0.5) / 1e3, p99: pct(0.99) / 1e3 };
    }
    case 'bulk': {
      const t0 = performance.now();
      const blob = new Blob([bulkText(r.rows)]);
      await db.query("COPY bulk FROM '/dev/blob'", [], { blob });
      return { ms: performance.now() - t0 };
    }
    default:
      throw new Error('unknown op ' + r.op);
  }
}

const rl = createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of rl) {
  if (!line.trim()) continue;
  try {
    out(await handle(JSON.parse(line)));
  } catch (e) {
    out({ error: String((e && e.stack) || e) });
  }
}
if (db) await db.close();
