import { useEffect, useRef, useState } from "preact/hooks";
import { ApiError, call, get } from "../api";
import { Check, Empty, ErrorBox, Field, Section, Select, Show, useAction, useLoad } from "../ui";

type Value = number | string | null;
interface Metric {
  name: string;
  label: string;
  group: string;
  unit: "count" | "money" | "coins" | "percent";
  current: Value;
  previous: Value;
  delta: Value;
  delta_percent: string | null;
}
interface Row {
  key: string;
  label: string;
  current: Value;
  previous: Value;
}
interface Summary {
  range: { from: string; to: string; days: number; timezone?: string };
  previous_range: { from: string; to: string; days: number };
  currency: string;
  coin_value: string;
  metrics: Metric[];
  breakdowns: Record<string, Row[]>;
}
interface Series {
  granularity: string;
  metrics: string[];
  points: Array<{ start: string; values: Record<string, Value> }>;
}

const RANGES: Array<[string, string]> = [
  ["today", "Today"],
  ["7d", "7 days"],
  ["30d", "30 days"],
  ["60d", "60 days"],
  ["90d", "90 days"],
  ["custom", "Custom"],
];
const GROUPS: Array<[string, string]> = [
  ["orders", "Orders"],
  ["coins", "Coins"],
  ["coupons", "Coupons"],
  ["engagement", "Engagement"],
  ["communications", "Communications"],
  ["liability", "Liability"],
];

export function format(value: Value, unit: Metric["unit"], currency: string): string {
  if (value === null || value === undefined) return "—";
  if (unit === "money") return `${Number(value).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 })} ${currency}`;
  if (unit === "percent") return `${value}%`;
  return typeof value === "number" ? value.toLocaleString() : value;
}

export function Analytics() {
  const [range, setRange] = useState("30d");
  const [from, setFrom] = useState("");
  const [to, setTo] = useState("");
  const [offset, setOffset] = useState(0);
  const custom = range === "custom";
  const ready = !custom || (from && to);
  const query = { range, from: custom ? from : undefined, to: custom ? to : undefined, offset };
  const summary = useLoad(() => (ready ? get<Summary>("/v1/admin/analytics/summary", query) : Promise.resolve(undefined)), [range, from, to, offset]);
  const missing = summary.error instanceof ApiError && summary.error.status === 404;
  const exportCsv = useAction(async () => {
    const reply = await call<string>("GET", "/v1/admin/analytics/export", { query: { format: "csv", ...query }, accept: "text/csv" });
    const link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([reply.data], { type: "text/csv" }));
    link.download = `pollen-analytics-${summary.data?.range.from ?? range}-${summary.data?.range.to ?? ""}.csv`;
    link.click();
    setTimeout(() => URL.revokeObjectURL(link.href), 1000);
  });
  if (missing) {
    return (
      <>
        <h1>Analytics</h1>
        <Empty>This Pollen version has no analytics API yet (GET /v1/admin/analytics/summary answers 404). Update the stack to see reports here.</Empty>
      </>
    );
  }
  return (
    <>
      <h1>Analytics</h1>
      <div class="card">
        <div class="toolbar">
          <div role="group" aria-label="Time frame" class="segmented">
            {RANGES.map(([value, label]) => (
              <button
                key={value}
                type="button"
                aria-pressed={range === value}
                onClick={() => {
                  if (value === range && offset === 0) summary.reload(); // the same frame again: fresh numbers
                  setRange(value);
                  setOffset(0);
                }}
              >
                {label}
              </button>
            ))}
          </div>
          <div class="row" role="group" aria-label="Move in time">
            <button type="button" class="secondary" aria-label="Previous period" onClick={() => setOffset(offset - 1)} disabled={!ready}>
              ←
            </button>
            <button type="button" class="secondary" aria-label="Next period" onClick={() => setOffset(offset + 1)} disabled={offset >= 0}>
              →
            </button>
          </div>
          <button type="button" class="secondary" onClick={() => exportCsv.run()} disabled={!summary.data || exportCsv.busy}>
            Export CSV
          </button>
        </div>
        {custom && (
          <div class="row">
            <Field label="From" type="date" value={from} onValue={(v) => { setFrom(v); setOffset(0); }} />
            <Field label="To" type="date" value={to} onValue={(v) => { setTo(v); setOffset(0); }} />
          </div>
        )}
        {summary.data && (
          <p class="muted" data-testid="range">
            {summary.data.range.from} – {summary.data.range.to} ({summary.data.range.days} days{summary.data.range.timezone ? `, ${summary.data.range.timezone}` : ""}), compared with {summary.data.previous_range.from} – {summary.data.previous_range.to}
          </p>
        )}
        <ErrorBox error={exportCsv.error} />
      </div>
      {!ready ? (
        <Empty>Pick both dates.</Empty>
      ) : (
        <Show loaded={summary}>{(s) => (s ? <Report summary={s} query={query} /> : null)}</Show>
      )}
    </>
  );
}

function Report({ summary, query }: { summary: Summary; query: Record<string, string | number | undefined> }) {
  return (
    <>
      {GROUPS.map(([group, title]) => {
        const metrics = summary.metrics.filter((m) => m.group === group);
        if (metrics.length === 0) return null;
        return (
          <Section key={group} title={title}>
            <ul class="kpis">
              {metrics.map((m) => (
                <Kpi key={m.name} metric={m} currency={summary.currency} />
              ))}
            </ul>
            {group === "orders" && <Breakdown name="attributed_revenue_by_source" rows={summary.breakdowns.attributed_revenue_by_source} currency={summary.currency} showCaption />}
          </Section>
        );
      })}
      {Object.entries(summary.breakdowns)
        .filter(([name]) => name !== "attributed_revenue_by_source")
        .map(([name, rows]) => (
          <Section key={name} title={title(name)}>
            <Breakdown name={name} rows={rows} currency={summary.currency} />
          </Section>
        ))}
      <Chart metrics={summary.metrics} query={query} currency={summary.currency} />
    </>
  );
}

const title = (name: string) => name.replace(/_/g, " ").replace(/^./, (c) => c.toUpperCase());

function Kpi({ metric: m, currency }: { metric: Metric; currency: string }) {
  const pct = m.delta_percent;
  const trend = pct === null ? "flat" : pct.startsWith("-") ? "down" : Number(pct) === 0 ? "flat" : "up";
  return (
    <li class="kpi" data-metric={m.name} data-value={m.current === null ? "" : String(m.current)}>
      <span class="kpi-label">{m.label}</span>
      <strong class="kpi-value">{format(m.current, m.unit, currency)}</strong>
      <span class={`delta ${trend}`}>
        {pct === null ? "no previous data" : `${trend === "up" ? "▲" : trend === "down" ? "▼" : "■"} ${pct.replace(/^-/, "")}%`}
        <span class="muted"> vs {format(m.previous, m.unit, currency)}</span>
      </span>
    </li>
  );
}

function Breakdown({ name, rows, currency, showCaption = false }: { name: string; rows: Row[] | undefined; currency: string; showCaption?: boolean }) {
  if (!rows) return null;
  const money = name.includes("revenue");
  return (
    <div class="table-wrap" tabIndex={0}>
      <table data-breakdown={name}>
        <caption class={showCaption ? undefined : "sr-only"}>{title(name)}</caption>
        <thead>
          <tr>
            <th scope="col">Source</th>
            <th scope="col" class="n">This period</th>
            <th scope="col" class="n">Previous</th>
          </tr>
        </thead>
        <tbody>
          {rows.length === 0 ? (
            <tr>
              <td colSpan={3}>Nothing in this period.</td>
            </tr>
          ) : (
            rows.map((r) => (
              <tr key={r.key}>
                <th scope="row">{r.label}</th>
                <td class="n">{format(r.current, money ? "money" : "count", currency)}</td>
                <td class="n">{format(r.previous, money ? "money" : "count", currency)}</td>
              </tr>
            ))
          )}
        </tbody>
      </table>
    </div>
  );
}

const COLORS = ["#2563eb", "#d97706", "#059669", "#db2777", "#7c3aed", "#0891b2"];

function Chart({ metrics, query, currency }: { metrics: Metric[]; query: Record<string, string | number | undefined>; currency: string }) {
  const [picked, setPicked] = useState<string[]>(() => metrics.filter((m) => m.group === "orders").slice(0, 2).map((m) => m.name));
  const [granularity, setGranularity] = useState("day");
  const series = useLoad(
    () => (picked.length ? get<Series>("/v1/admin/analytics/series", { ...query, metrics: picked.join(","), granularity }) : Promise.resolve(null)),
    [picked.join(","), granularity, JSON.stringify(query)],
  );
  const toggle = (name: string, on: boolean) => setPicked(on ? [...picked, name] : picked.filter((n) => n !== name));
  return (
    <Section title="Trend">
      <div class="toolbar">
        <Select
          label="Group by"
          value={granularity}
          onValue={setGranularity}
          options={[
            ["day", "Day"],
            ["week", "Week"],
            ["month", "Month"],
          ]}
        />
      </div>
      <fieldset>
        <legend>Metrics in the chart</legend>
        <div class="row wrap-row">
          {metrics.map((m) => (
            <Check key={m.name} label={m.label} checked={picked.includes(m.name)} onValue={(on) => toggle(m.name, on)} />
          ))}
        </div>
      </fieldset>
      <Show loaded={series}>
        {(s) =>
          !s || s.points.length === 0 ? (
            <Empty>Pick a metric to chart.</Empty>
          ) : (
            <Plot series={s} labels={Object.fromEntries(metrics.map((m) => [m.name, m.unit === "money" ? `${m.label} (${currency})` : m.label]))} />
          )
        }
      </Show>
    </Section>
  );
}

function Plot({ series, labels }: { series: Series; labels: Record<string, string> }) {
  const box = useRef<HTMLDivElement>(null);
  const [error, setError] = useState<unknown>();
  useEffect(() => {
    let plot: { destroy(): void; setSize(s: { width: number; height: number }): void } | undefined;
    let observer: ResizeObserver | undefined;
    let live = true;
    // uPlot is loaded on demand: the first screen does not pay for the chart code.
    Promise.all([import("uplot"), import("uplot/dist/uPlot.min.css")])
      .then(([{ default: UPlot }]) => {
        if (!live || !box.current) return;
        const xs = series.points.map((p) => Date.parse(`${p.start}T00:00:00Z`) / 1000);
        const ys = series.metrics.map((name) => series.points.map((p) => (p.values[name] === null || p.values[name] === undefined ? null : Number(p.values[name]))));
        const width = () => Math.max(280, box.current?.clientWidth ?? 600);
        plot = new UPlot(
          {
            width: width(),
            height: 260,
            tzDate: (ts: number) => UPlot.tzDate(new Date(ts * 1000), "UTC"),
            series: [{}, ...series.metrics.map((name, i) => ({ label: labels[name] ?? name, stroke: COLORS[i % COLORS.length], width: 2 }))],
            axes: [{}, { size: 60 }],
          },
          [xs, ...ys] as never,
          box.current,
        );
        observer = new ResizeObserver(() => plot?.setSize({ width: width(), height: 260 }));
        observer.observe(box.current);
      })
      .catch(setError);
    return () => {
      live = false;
      observer?.disconnect();
      plot?.destroy();
    };
  }, [series]);
  return (
    <>
      <ErrorBox error={error} />
      <div ref={box} class="chart" role="img" aria-label={`Chart of ${series.metrics.map((n) => labels[n] ?? n).join(", ")} by ${series.granularity}`} />
      <details>
        <summary>Chart data as a table</summary>
        <div class="table-wrap" tabIndex={0}>
          <table>
            <thead>
              <tr>
                <th scope="col">Start</th>
                {series.metrics.map((n) => (
                  <th scope="col" class="n" key={n}>
                    {labels[n] ?? n}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {series.points.map((p) => (
                <tr key={p.start}>
                  <th scope="row">{p.start}</th>
                  {series.metrics.map((n) => (
                    <td class="n" key={n}>
                      {p.values[n] ?? "—"}
                    </td>
                  ))}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </details>
    </>
  );
}

