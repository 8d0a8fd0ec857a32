// Settings documents the dashboard edits as JSON (referral program, VIP tiers): read with their ETag,
// saved with If-Match, a concurrent change shown as a conflict. A 404 means this stack has no such API.
import { useState } from "preact/hooks";
import { ApiError, call, get } from "../api";
import { Empty, ErrorBox, Notice, Section, Select, Show, num, useAction, useId, useLoad, when } from "../ui";

const VIEW_ONLY = ["version", "updated_at", "members"];

export function Conflict({ error, onReload }: { error: unknown; onReload: () => void }) {
  if (!(error instanceof ApiError) || (error.status !== 412 && error.status !== 409)) return <ErrorBox error={error} />;
  return (
    <div class="error" role="alert">
      <strong>Conflict: {error.detail}</strong>
      <p>Someone changed this since you opened it, so nothing was overwritten. Your edits are still in the form.</p>
      <button type="button" class="secondary" onClick={onReload}>
        Load the latest version
      </button>
    </div>
  );
}

type Doc = Record<string, unknown> & { version?: number; updated_at?: string | null; members?: Record<string, number> };

export function SettingsEditor({ title, path, intro }: { title: string; path: string; intro: string }) {
  const loaded = useLoad(
    () =>
      call<Doc>("GET", path).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
    [path],
  );
  const [saved, setSaved] = useState<string>(); // kept here: the editor remounts with the new version
  return (
    <Section title={title}>
      <Show loaded={loaded}>
        {(reply) =>
          reply === null ? (
            <Empty>This Pollen version has no {title.toLowerCase()} API yet.</Empty>
          ) : (
            <Editor
              key={reply.etag}
              doc={reply.data}
              etag={reply.etag ?? ""}
              path={path}
              intro={intro}
              onReload={loaded.reload}
              onSaved={() => {
                setSaved("Saved.");
                loaded.reload();
              }}
              onEdit={() => setSaved(undefined)}
            />
          )
        }
      </Show>
      {saved && <Notice>{saved}</Notice>}
    </Section>
  );
}

function Editor({
  doc,
  etag,
  path,
  intro,
  onReload,
  onSaved,
  onEdit,
}: {
  doc: Doc;
  etag: string;
  path: string;
  intro: string;
  onReload: () => void;
  onSaved: () => void;
  onEdit: () => void;
}) {
  const id = useId("json");
  const settings = Object.fromEntries(Object.entries(doc).filter(([k]) => !VIEW_ONLY.includes(k)));
  const [text, setText] = useState(() => JSON.stringify(settings, null, 2));
  const save = useAction(async () => {
    onEdit();
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch (e) {
      throw new ApiError(400, "Not JSON", `The settings are not valid JSON: ${(e as Error).message}`);
    }
    await call("PUT", path, { body, ifMatch: etag });
    onSaved();
  });
  return (
    <form
      onSubmit={(e) => {
        e.preventDefault();
        save.run();
      }}
    >
      <p class="muted">
        {intro} Version {doc.version ?? "—"}, changed {when(doc.updated_at ?? null)}.
      </p>
      {doc.members && Object.keys(doc.members).length > 0 && (
        <p>
          Members:{" "}
          {Object.entries(doc.members)
            .map(([tier, count]) => `${tier} ${num(count)}`)
            .join(" · ")}
        </p>
      )}
      <div class="field">
        <label for={id}>Settings (JSON)</label>
        <textarea id={id} class="json" rows={Math.min(24, text.split("\n").length + 1)} value={text} spellcheck={false} onInput={(e) => {
            onEdit();
            setText((e.target as HTMLTextAreaElement).value);
          }} />
      </div>
      <button type="submit" disabled={save.busy}>
        {save.busy ? "Saving…" : "Save"}
      </button>
      <Conflict error={save.error} onReload={onReload} />
    </form>
  );
}

interface Referral {
  referral_id: string;
  status: string;
  channel: string;
  referrer_customer_id: string;
  friend_customer_id: string | null;
  friend_email: string | null;
  order_id: string | null;
  order_total: string | null;
  currency: string | null;
  rewards: Array<{ side: string; type: string; coins: number; coupon_code: string | null }>;
  created_at: string;
}

export function Referrals() {
  const [status, setStatus] = useState("");
  const loaded = useLoad(
    () =>
      get<{ items: Referral[] }>("/v1/admin/referrals", { status, limit: 50 }).catch((e: unknown) => {
        if (e instanceof ApiError && e.status === 404) return null;
        throw e;
      }),
    [status],
  );
  if (loaded.data === null) return null; // no referrals API on this stack: the program section says so
  return (
    <Section title="Referrals">
      <Select
        label="Status"
        value={status}
        onValue={setStatus}
        options={[["", "All"], ...["invited", "signed_up", "completed", "rejected", "reversed"].map((s): [string, string] => [s, s.replace("_", " ")])]}
      />
      <Show loaded={loaded}>
        {(data) =>
          !data || data.items.length === 0 ? (
            <Empty>No referrals yet.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Referrer</th>
                    <th scope="col">Friend</th>
                    <th scope="col">Status</th>
                    <th scope="col">Order</th>
                    <th scope="col">Rewards</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((r) => (
                    <tr key={r.referral_id}>
                      <td>{when(r.created_at)}</td>
                      <td>
                        <a href={`#/customers/${encodeURIComponent(r.referrer_customer_id)}`}>{r.referrer_customer_id}</a>
                      </td>
                      <td>{r.friend_customer_id ?? r.friend_email ?? "—"}</td>
                      <td>{r.status}</td>
                      <td>{r.order_id ? `${r.order_id}${r.order_total ? ` (${r.order_total} ${r.currency ?? ""})` : ""}` : "—"}</td>
                      <td>{r.rewards.map((w) => `${w.side}: ${w.coins ? `${w.coins} coins` : w.coupon_code ?? w.type}`).join("; ") || "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </Section>
  );
}
