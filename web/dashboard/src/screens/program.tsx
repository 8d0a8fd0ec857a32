import { useState } from "preact/hooks";
import { ApiError, call, get, send, seg } from "../api";
import { Check, Empty, ErrorBox, Field, Notice, Section, Select, Show, num, useAction, useLoad, when } from "../ui";
import { Conflict, Referrals, SettingsEditor } from "./settings";

interface ProgramView {
  currency: string;
  coin_value: string;
  earning: {
    coins_per_unit: string;
    unit_amount: string;
    basis: string;
    excluded_product_ids: string[];
    excluded_tags: string[];
    pending_days: number;
  };
  expiry: { days: number | null; reminder_days_before: number };
  version: number;
  updated_at: string;
}
interface Trigger {
  trigger_id: string;
  name: string | null;
  coins: number;
  frequency: string | number;
  enabled: boolean;
}
type Reward = Record<string, string | number | boolean | null> & {
  reward_id: string;
  type: string;
  name: string;
  enabled: boolean;
  updated_at: string;
};

const list = (text: string) =>
  text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean);

export function Program() {
  return (
    <>
      <h1>Program</h1>
      <Settings />
      <Triggers />
      <Rewards />
      <SettingsEditor
        title="Referral program"
        path="/v1/admin/referral-program"
        intro="Rewards for the referrer and the friend, what qualifies, limits, reminders and fraud checks."
      />
      <Referrals />
      <SettingsEditor title="VIP tiers" path="/v1/admin/tiers" intro="Tiers (lowest first), their thresholds and perks, the window and retention." />
    </>
  );
}

function Settings() {
  const loaded = useLoad(() => call<ProgramView>("GET", "/v1/admin/program"), []);
  const [saved, setSaved] = useState<string>(); // kept here: the form remounts with the new version
  return (
    <Section title="Earning and expiry">
      <Show loaded={loaded}>
        {(reply) => (
          <SettingsForm
            key={reply.etag}
            program={reply.data}
            etag={reply.etag ?? ""}
            onReload={loaded.reload}
            onSaved={() => {
              setSaved(`Saved: version ${reply.data.version + 1}.`);
              loaded.reload();
            }}
            onEdit={() => setSaved(undefined)}
          />
        )}
      </Show>
      {saved && <Notice>{saved}</Notice>}
    </Section>
  );
}

function SettingsForm({
  program,
  etag,
  onReload,
  onSaved,
  onEdit,
}: {
  program: ProgramView;
  etag: string;
  onReload: () => void;
  onSaved: () => void;
  onEdit: () => void;
}) {
  const [f, setF] = useState({
    currency: program.currency,
    coin_value: program.coin_value,
    coins_per_unit: program.earning.coins_per_unit,
    unit_amount: program.earning.unit_amount,
    basis: program.earning.basis,
    pending_days: String(program.earning.pending_days),
    excluded_product_ids: program.earning.excluded_product_ids.join(", "),
    excluded_tags: program.earning.excluded_tags.join(", "),
    expiry_days: program.expiry.days === null ? "" : String(program.expiry.days),
    reminder: String(program.expiry.reminder_days_before),
  });
  const set = (name: keyof typeof f) => (value: string) => {
    onEdit();
    setF({ ...f, [name]: value });
  };
  const save = useAction(async () => {
    onEdit();
    await call("PUT", "/v1/admin/program", {
      ifMatch: etag,
      body: {
        currency: f.currency,
        coin_value: f.coin_value,
        earning: {
          coins_per_unit: f.coins_per_unit,
          unit_amount: f.unit_amount,
          basis: f.basis,
          pending_days: Number(f.pending_days),
          excluded_product_ids: list(f.excluded_product_ids),
          excluded_tags: list(f.excluded_tags),
        },
        expiry: { days: f.expiry_days.trim() ? Number(f.expiry_days) : null, reminder_days_before: Number(f.reminder) },
      },
    });
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
        Version {program.version}, changed {when(program.updated_at)}. Customers earn {program.earning.coins_per_unit} coins per {program.earning.unit_amount}{" "}
        {program.currency}; one coin is worth {program.coin_value} {program.currency}.
      </p>
      <div class="grid">
        <Field label="Coins per unit" value={f.coins_per_unit} onValue={set("coins_per_unit")} inputMode="decimal" required />
        <Field label={`Unit amount (${f.currency})`} value={f.unit_amount} onValue={set("unit_amount")} inputMode="decimal" required />
        <Select
          label="Earn on"
          value={f.basis}
          onValue={set("basis")}
          options={[
            ["subtotal_after_discounts", "Subtotal after discounts"],
            ["subtotal", "Subtotal"],
            ["total", "Total paid"],
          ]}
        />
        <Field label="Pending days" type="number" min={0} value={f.pending_days} onValue={set("pending_days")} hint="Days before order coins can be spent." />
        <Field label="Coin value" value={f.coin_value} onValue={set("coin_value")} inputMode="decimal" required />
        <Field label="Currency" value={f.currency} onValue={set("currency")} maxLength={3} required />
        <Field label="Coins expire after (days)" type="number" min={1} value={f.expiry_days} onValue={set("expiry_days")} hint="Empty: never." />
        <Field label="Reminder days before expiry" type="number" min={0} value={f.reminder} onValue={set("reminder")} />
        <Field label="Excluded product ids" value={f.excluded_product_ids} onValue={set("excluded_product_ids")} hint="Comma-separated." />
        <Field label="Excluded product tags" value={f.excluded_tags} onValue={set("excluded_tags")} hint="Comma-separated." />
      </div>
      <button type="submit" disabled={save.busy}>
        {save.busy ? "Saving…" : "Save program"}
      </button>
      <Conflict error={save.error} onReload={onReload} />
    </form>
  );
}

function Triggers() {
  const loaded = useLoad(() => get<{ items: Trigger[] }>("/v1/admin/triggers"), []);
  const [editing, setEditing] = useState<Trigger | "new" | null>(null);
  const remove = useAction(async (id: string) => {
    await send("DELETE", `/v1/admin/triggers/${seg(id)}`);
    loaded.reload();
  });
  return (
    <Section
      title="Triggers"
      actions={
        <button type="button" class="secondary" onClick={() => setEditing("new")}>
          Add trigger
        </button>
      }
    >
      <p class="muted">Coins for actions your app reports: sign-up, app install, birthday…</p>
      {editing && (
        <TriggerForm
          key={editing === "new" ? "new" : editing.trigger_id}
          trigger={editing === "new" ? null : editing}
          existing={(loaded.data?.items ?? []).map((t) => t.trigger_id)}
          onDone={() => {
            setEditing(null);
            loaded.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <ErrorBox error={remove.error} />
      <Show loaded={loaded}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No triggers yet.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Id</th>
                    <th scope="col">Name</th>
                    <th scope="col" class="n">Coins</th>
                    <th scope="col">Frequency</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((t) => (
                    <tr key={t.trigger_id}>
                      <td>
                        <code>{t.trigger_id}</code>
                      </td>
                      <td>{t.name ?? "—"}</td>
                      <td class="n">{num(t.coins)}</td>
                      <td>{typeof t.frequency === "number" ? `${t.frequency} times` : t.frequency}</td>
                      <td>{t.enabled ? "yes" : "no"}</td>
                      <td class="actions">
                        <button type="button" class="link" onClick={() => setEditing(t)} aria-label={`Edit trigger ${t.trigger_id}`}>
                          Edit
                        </button>
                        <button
                          type="button"
                          class="link danger"
                          aria-label={`Delete trigger ${t.trigger_id}`}
                          onClick={() => confirm(`Delete trigger ${t.trigger_id}?`) && remove.run(t.trigger_id)}
                        >
                          Delete
                        </button>
                      </td>
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

function TriggerForm({ trigger, existing, onDone, onCancel }: { trigger: Trigger | null; existing: string[]; onDone: () => void; onCancel: () => void }) {
  const [id, setId] = useState(trigger?.trigger_id ?? "");
  const [name, setName] = useState(trigger?.name ?? "");
  const [coins, setCoins] = useState(String(trigger?.coins ?? ""));
  const [frequency, setFrequency] = useState(String(trigger?.frequency ?? "once"));
  const [enabled, setEnabled] = useState(trigger?.enabled ?? true);
  const save = useAction(async () => {
    if (!trigger && existing.includes(id.trim())) {
      throw new ApiError(409, "Conflict", `A trigger ${id.trim()} already exists; edit it instead of replacing it.`);
    }
    const freq = /^\d+$/.test(frequency.trim()) ? Number(frequency) : frequency.trim();
    await send("PUT", `/v1/admin/triggers/${seg(id.trim())}`, { name: name.trim() || null, coins: Number(coins), frequency: freq, enabled });
    onDone();
  });
  return (
    <form
      class="card inset"
      aria-label={trigger ? `Edit trigger ${trigger.trigger_id}` : "New trigger"}
      onSubmit={(e) => {
        e.preventDefault();
        save.run();
      }}
    >
      <div class="grid">
        <Field label="Trigger id" value={id} onValue={setId} required disabled={!!trigger} pattern="[A-Za-z0-9_.\-]+" />
        <Field label="Name" value={name} onValue={setName} />
        <Field label="Coins" type="number" min={1} value={coins} onValue={setCoins} required />
        <Field label="Frequency" value={frequency} onValue={setFrequency} hint="once, daily, unlimited, or a number of times." required />
      </div>
      <Check label="Enabled" checked={enabled} onValue={setEnabled} />
      <div class="row">
        <button type="submit" disabled={save.busy}>
          Save trigger
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorBox error={save.error} />
    </form>
  );
}

const REWARD_TYPES: Array<[string, string]> = [
  ["fixed_amount", "Amount off"],
  ["percentage", "Percentage off"],
  ["free_shipping", "Free shipping"],
  ["dynamic", "Pay with coins (dynamic)"],
];
const TYPE_FIELDS: Record<string, Array<[string, string, string?]>> = {
  fixed_amount: [["coins", "Coins"], ["amount", "Amount off"]],
  percentage: [["coins", "Coins"], ["percentage", "Percentage"], ["max_discount", "Maximum discount", "Optional."]],
  free_shipping: [["coins", "Coins"]],
  dynamic: [["min_coins", "Minimum coins"], ["max_coins", "Maximum coins"], ["step", "Step"], ["max_cart_percent", "Max share of cart (%)"]],
};
const INTEGER_FIELDS = new Set(["coins", "min_coins", "max_coins", "step", "validity_days"]);

function describe(r: Reward): string {
  switch (r.type) {
    case "fixed_amount":
      return `${r.amount} off for ${r.coins} coins`;
    case "percentage":
      return `${r.percentage}% off${r.max_discount ? ` (up to ${r.max_discount})` : ""} for ${r.coins} coins`;
    case "free_shipping":
      return `free shipping for ${r.coins} coins`;
    default:
      return `${r.min_coins}–${r.max_coins} coins in steps of ${r.step}, up to ${r.max_cart_percent}% of the cart`;
  }
}

function Rewards() {
  const loaded = useLoad(() => get<{ items: Reward[] }>("/v1/admin/rewards"), []);
  const [editing, setEditing] = useState<Reward | "new" | null>(null);
  const remove = useAction(async (id: string) => {
    await send("DELETE", `/v1/admin/rewards/${seg(id)}`);
    loaded.reload();
  });
  return (
    <Section
      title="Rewards catalogue"
      actions={
        <button type="button" class="secondary" onClick={() => setEditing("new")}>
          Add reward
        </button>
      }
    >
      {editing && (
        <RewardForm
          key={editing === "new" ? "new" : editing.reward_id}
          reward={editing === "new" ? null : editing}
          onDone={() => {
            setEditing(null);
            loaded.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <ErrorBox error={remove.error} />
      <Show loaded={loaded}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No rewards yet: customers cannot spend coins until you add one.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Reward</th>
                    <th scope="col">Type</th>
                    <th scope="col">Offer</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((r) => (
                    <tr key={r.reward_id}>
                      <td>
                        {r.name}
                        <br />
                        <small class="muted">
                          <code>{r.reward_id}</code>
                        </small>
                      </td>
                      <td>{REWARD_TYPES.find(([t]) => t === r.type)?.[1] ?? r.type}</td>
                      <td>{describe(r)}</td>
                      <td>{r.enabled ? "yes" : "no"}</td>
                      <td class="actions">
                        <button type="button" class="link" onClick={() => setEditing(r)} aria-label={`Edit reward ${r.name}`}>
                          Edit
                        </button>
                        <button
                          type="button"
                          class="link danger"
                          aria-label={`Delete reward ${r.name}`}
                          onClick={() => confirm(`Delete reward ${r.name}? Issued coupons stay valid.`) && remove.run(r.reward_id)}
                        >
                          Delete
                        </button>
                      </td>
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

function RewardForm({ reward, onDone, onCancel }: { reward: Reward | null; onDone: () => void; onCancel: () => void }) {
  const initial: Record<string, string> = {};
  for (const [k, v] of Object.entries(reward ?? {})) initial[k] = v === null || v === undefined ? "" : String(v);
  const [f, setF] = useState<Record<string, string>>({ type: "fixed_amount", validity_days: "30", ...initial });
  const [enabled, setEnabled] = useState(reward?.enabled ?? true);
  const set = (name: string) => (value: string) => setF({ ...f, [name]: value });
  const save = useAction(async () => {
    const id = (f.reward_id ?? "").trim();
    // The rewards API has no ETag: check nobody changed (or created) it since this form opened.
    const current = await get<Reward>(`/v1/admin/rewards/${seg(id)}`).catch((e: unknown) => {
      if (e instanceof ApiError && e.status === 404) return null;
      throw e;
    });
    if (current && (!reward || current.updated_at !== reward.updated_at)) {
      throw new ApiError(409, "Conflict", reward ? `Reward ${id} was changed by someone else at ${when(current.updated_at)}.` : `A reward ${id} already exists.`);
    }
    const body: Record<string, unknown> = { type: f.type, name: f.name, enabled, validity_days: Number(f.validity_days) };
    if (f.description?.trim()) body.description = f.description.trim();
    if (f.min_order_subtotal?.trim()) body.min_order_subtotal = f.min_order_subtotal.trim();
    for (const [name] of TYPE_FIELDS[f.type]) {
      const value = (f[name] ?? "").trim();
      if (value) body[name] = INTEGER_FIELDS.has(name) ? Number(value) : value;
    }
    await send("PUT", `/v1/admin/rewards/${seg(id)}`, body);
    onDone();
  });
  return (
    <form
      class="card inset"
      aria-label={reward ? `Edit reward ${reward.name}` : "New reward"}
      onSubmit={(e) => {
        e.preventDefault();
        save.run();
      }}
    >
      <div class="grid">
        <Field label="Reward id" value={f.reward_id ?? ""} onValue={set("reward_id")} required disabled={!!reward} />
        <Select label="Type" value={f.type} onValue={set("type")} options={REWARD_TYPES} />
        <Field label="Name" value={f.name ?? ""} onValue={set("name")} required />
        <Field label="Description" value={f.description ?? ""} onValue={set("description")} />
        {TYPE_FIELDS[f.type].map(([name, label, hint]) => (
          <Field key={name} label={label} value={f[name] ?? ""} onValue={set(name)} hint={hint} inputMode="decimal" />
        ))}
        <Field label="Minimum order subtotal" value={f.min_order_subtotal ?? ""} onValue={set("min_order_subtotal")} hint="Optional." inputMode="decimal" />
        <Field label="Coupon valid for (days)" type="number" min={1} max={365} value={f.validity_days ?? ""} onValue={set("validity_days")} />
      </div>
      <Check label="Enabled" checked={enabled} onValue={setEnabled} />
      <div class="row">
        <button type="submit" disabled={save.busy}>
          Save reward
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorBox error={save.error} />
    </form>
  );
}
