import { useState } from "preact/hooks";
import { get, send, seg } from "../api";
import { Check, Empty, ErrorBox, Field, Notice, Section, Secret, Select, Show, useAction, useLoad, when } from "../ui";

interface EventType {
  name: string;
  display_name: string;
  description: string;
  filters: string[];
}
interface Integration {
  integration_id: string;
  kind: "webhook" | "klaviyo" | "omnisend";
  enabled: boolean;
  primary_selector: string | null;
  masked_api_key: string | null;
  url: string | null;
  masked_secret: string | null;
  updated_at: string;
}
interface Subscription {
  subscription_id: string;
  event: string;
  integration_id: string;
  name_prefix: string;
  filters: { transaction_types?: string[] | null; operations?: string[] | null };
  enabled: boolean;
}
interface Attempt {
  attempt: number;
  at: string;
  outcome: string;
  http_status: number | null;
  latency_ms: number;
  error: string | null;
}
interface Delivery {
  delivery_id: string;
  event_type: string;
  subscription_id: string;
  integration_id: string;
  customer_id: string | null;
  status: string;
  test: boolean;
  attempts: Attempt[];
  replays: number;
  dead_reason: string | null;
  created_at: string;
}
interface DeadLetter {
  delivery_id: string;
  event_type: string;
  integration_id: string;
  reason: string;
  outcome: string;
  attempts: number;
  http_status: number | null;
  dead_since: string;
  replays: number;
}

const FILTER_VALUES: Record<string, string[]> = {
  transaction_types: ["reward", "redeem", "refund", "expire", "adjust", "reversal"],
  operations: ["credit", "debit"],
};

export function Events() {
  const integrations = useLoad(() => get<{ items: Integration[] }>("/v1/admin/integrations"), []);
  const [logVersion, setLogVersion] = useState(0);
  return (
    <>
      <h1>Events</h1>
      <Switch />
      <Integrations loaded={integrations} />
      <Subscriptions integrations={integrations.data?.items ?? []} onSent={() => setLogVersion((v) => v + 1)} />
      <DeliveryLog key={logVersion} />
      <DeadLetters onReplayed={() => setLogVersion((v) => v + 1)} />
    </>
  );
}

function Switch() {
  const loaded = useLoad(() => get<{ enabled: boolean; updated_at: string | null }>("/v1/admin/events/settings"), []);
  const toggle = useAction(async (enabled: boolean) => {
    await send("PUT", "/v1/admin/events/settings", { enabled });
    loaded.reload();
  });
  return (
    <Section title="Sending">
      <Show loaded={loaded}>
        {(s) => (
          <>
            <Check label="Send events to integrations" checked={s.enabled} onValue={(v) => toggle.run(v)} />
            <p class="muted">{s.enabled ? "On" : "Off: no event is sent to any integration"}. Last changed {when(s.updated_at)}.</p>
          </>
        )}
      </Show>
      <ErrorBox error={toggle.error} />
    </Section>
  );
}

function Integrations({ loaded }: { loaded: ReturnType<typeof useLoad<{ items: Integration[] }>> }) {
  const [editing, setEditing] = useState<Integration | "new" | null>(null);
  const [secret, setSecret] = useState<string | null>(null);
  const remove = useAction(async (id: string) => {
    await send("DELETE", `/v1/admin/integrations/${seg(id)}`);
    loaded.reload();
  });
  return (
    <Section
      title="Integrations"
      actions={
        <button type="button" class="secondary" onClick={() => setEditing("new")}>
          Add integration
        </button>
      }
    >
      {secret && <Secret label="Webhook signing secret" value={secret} />}
      {editing && (
        <IntegrationForm
          key={editing === "new" ? "new" : editing.integration_id}
          integration={editing === "new" ? null : editing}
          onDone={(newSecret) => {
            setSecret(newSecret);
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
            <Empty>No integrations yet. Add Klaviyo, Omnisend or a signed webhook.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Id</th>
                    <th scope="col">Kind</th>
                    <th scope="col">Where</th>
                    <th scope="col">Credential</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((i) => (
                    <tr key={i.integration_id}>
                      <td>
                        <code>{i.integration_id}</code>
                      </td>
                      <td>{i.kind}</td>
                      <td class="wrap">{i.url ?? `by ${i.primary_selector}`}</td>
                      <td>
                        <code>{i.masked_secret ?? i.masked_api_key ?? "—"}</code>
                      </td>
                      <td>{i.enabled ? "yes" : "no"}</td>
                      <td class="actions">
                        <button type="button" class="link" onClick={() => setEditing(i)} aria-label={`Edit integration ${i.integration_id}`}>
                          Edit
                        </button>
                        <button
                          type="button"
                          class="link danger"
                          aria-label={`Delete integration ${i.integration_id}`}
                          onClick={() => confirm(`Delete integration ${i.integration_id}?`) && remove.run(i.integration_id)}
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

function IntegrationForm({ integration, onDone, onCancel }: { integration: Integration | null; onDone: (secret: string | null) => void; onCancel: () => void }) {
  const [id, setId] = useState(integration?.integration_id ?? "");
  const [kind, setKind] = useState<string>(integration?.kind ?? "webhook");
  const [url, setUrl] = useState(integration?.url ?? "");
  const [credential, setCredential] = useState(""); // write-only: never read back
  const [selector, setSelector] = useState(integration?.primary_selector ?? "email");
  const [enabled, setEnabled] = useState(integration?.enabled ?? true);
  const save = useAction(async () => {
    const body: Record<string, unknown> =
      kind === "webhook" ? { kind, url: url.trim(), enabled } : { kind, primary_selector: selector, enabled };
    if (credential.trim()) body[kind === "webhook" ? "secret" : "api_key"] = credential.trim();
    const written = await send<{ secret?: string | null }>("PUT", `/v1/admin/integrations/${seg(id.trim())}`, body);
    onDone(written.secret ?? null);
  });
  const keeps = integration ? "Leave empty to keep the stored one." : "";
  return (
    <form
      class="card inset"
      aria-label={integration ? `Edit integration ${integration.integration_id}` : "New integration"}
      onSubmit={(e) => {
        e.preventDefault();
        save.run();
      }}
    >
      <div class="grid">
        <Field label="Integration id" value={id} onValue={setId} required disabled={!!integration} hint="e.g. crm-webhook" />
        <Select
          label="Kind"
          value={kind}
          onValue={setKind}
          options={[
            ["webhook", "Webhook (Standard Webhooks)"],
            ["klaviyo", "Klaviyo"],
            ["omnisend", "Omnisend"],
          ]}
        />
        {kind === "webhook" ? (
          <>
            <Field label="URL" type="url" value={url} onValue={setUrl} required hint="https (http only for localhost)." />
            <Field
              label="Signing secret"
              type="password"
              autoComplete="new-password"
              value={credential}
              onValue={setCredential}
              hint={`Optional, whsec_…. ${keeps || "Empty: Pollen generates one and shows it once."}`}
            />
          </>
        ) : (
          <>
            <Field label="Private API key" type="password" autoComplete="new-password" value={credential} onValue={setCredential} required={!integration} hint={`Write-only. ${keeps}`} />
            <Select
              label="Match customers by"
              value={selector}
              onValue={setSelector}
              options={[
                ["email", "Email"],
                ["mobile", "Mobile"],
              ]}
            />
          </>
        )}
      </div>
      <Check label="Enabled" checked={enabled} onValue={setEnabled} />
      <div class="row">
        <button type="submit" disabled={save.busy}>
          Save integration
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorBox error={save.error} />
    </form>
  );
}

function Subscriptions({ integrations, onSent }: { integrations: Integration[]; onSent: () => void }) {
  const loaded = useLoad(() => get<{ items: Subscription[] }>("/v1/admin/event-subscriptions"), []);
  const types = useLoad(() => get<{ items: EventType[] }>("/v1/admin/event-types"), []);
  const [editing, setEditing] = useState<Subscription | "new" | null>(null);
  const [testing, setTesting] = useState<string | null>(null);
  const remove = useAction(async (id: string) => {
    await send("DELETE", `/v1/admin/event-subscriptions/${seg(id)}`);
    loaded.reload();
  });
  const display = (name: string) => types.data?.items.find((t) => t.name === name)?.display_name ?? name;
  return (
    <Section
      title="Send events"
      actions={
        <button type="button" class="secondary" onClick={() => setEditing("new")} disabled={integrations.length === 0}>
          Create subscription
        </button>
      }
    >
      {integrations.length === 0 && <p class="muted">Add an integration first.</p>}
      {editing && types.data && (
        <SubscriptionForm
          key={editing === "new" ? "new" : editing.subscription_id}
          subscription={editing === "new" ? null : editing}
          types={types.data.items}
          integrations={integrations}
          onDone={() => {
            setEditing(null);
            loaded.reload();
          }}
          onCancel={() => setEditing(null)}
        />
      )}
      <ErrorBox error={remove.error ?? types.error} />
      <Show loaded={loaded}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No events are sent yet.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Event</th>
                    <th scope="col">To</th>
                    <th scope="col">Sent as</th>
                    <th scope="col">Filters</th>
                    <th scope="col">Enabled</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((s) => (
                    <>
                      <tr key={s.subscription_id}>
                        <td>{s.event}</td>
                        <td>
                          <code>{s.integration_id}</code>
                        </td>
                        <td>
                          {s.name_prefix}
                          {display(s.event)}
                        </td>
                        <td>
                          {Object.entries(s.filters ?? {})
                            .filter(([, v]) => v && v.length)
                            .map(([k, v]) => `${k.replace("_", " ")}: ${(v ?? []).join(", ")}`)
                            .join("; ") || "all"}
                        </td>
                        <td>{s.enabled ? "yes" : "no"}</td>
                        <td class="actions">
                          <button type="button" class="link" onClick={() => setTesting(testing === s.subscription_id ? null : s.subscription_id)} aria-expanded={testing === s.subscription_id}>
                            Send test event
                          </button>
                          <button type="button" class="link" onClick={() => setEditing(s)} aria-label={`Edit subscription ${s.subscription_id}`}>
                            Edit
                          </button>
                          <button
                            type="button"
                            class="link danger"
                            aria-label={`Delete subscription ${s.subscription_id}`}
                            onClick={() => confirm("Delete this subscription?") && remove.run(s.subscription_id)}
                          >
                            Delete
                          </button>
                        </td>
                      </tr>
                      {testing === s.subscription_id && (
                        <tr key={`${s.subscription_id}-test`}>
                          <td colSpan={6}>
                            <TestEvent subscriptionId={s.subscription_id} onSent={onSent} />
                          </td>
                        </tr>
                      )}
                    </>
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

function SubscriptionForm({
  subscription,
  types,
  integrations,
  onDone,
  onCancel,
}: {
  subscription: Subscription | null;
  types: EventType[];
  integrations: Integration[];
  onDone: () => void;
  onCancel: () => void;
}) {
  const [event, setEvent] = useState(subscription?.event ?? types[0]?.name ?? "");
  const [integrationId, setIntegrationId] = useState(subscription?.integration_id ?? integrations[0]?.integration_id ?? "");
  const [prefix, setPrefix] = useState(subscription?.name_prefix ?? "");
  const [filters, setFilters] = useState<Record<string, string[]>>(() => {
    const out: Record<string, string[]> = {};
    for (const [k, v] of Object.entries(subscription?.filters ?? {})) if (v) out[k] = v;
    return out;
  });
  const [enabled, setEnabled] = useState(subscription?.enabled ?? true);
  const spec = types.find((t) => t.name === event);
  const save = useAction(async () => {
    const used: Record<string, string[]> = {};
    for (const key of spec?.filters ?? []) if (filters[key]?.length) used[key] = filters[key];
    const body = { event, integration_id: integrationId, name_prefix: prefix, filters: used, enabled };
    if (subscription) await send("PUT", `/v1/admin/event-subscriptions/${seg(subscription.subscription_id)}`, body);
    else await send("POST", "/v1/admin/event-subscriptions", body);
    onDone();
  });
  const toggle = (key: string, value: string, on: boolean) => {
    const current = new Set(filters[key] ?? []);
    if (on) current.add(value);
    else current.delete(value);
    setFilters({ ...filters, [key]: [...current] });
  };
  return (
    <form
      class="card inset"
      aria-label={subscription ? "Edit subscription" : "New subscription"}
      onSubmit={(e) => {
        e.preventDefault();
        save.run();
      }}
    >
      <div class="grid">
        <Select label="Event" value={event} onValue={setEvent} options={types.map((t) => [t.name, t.display_name])} />
        <Select label="Integration" value={integrationId} onValue={setIntegrationId} options={integrations.map((i) => [i.integration_id, `${i.integration_id} (${i.kind})`])} />
        <Field label="Name prefix" value={prefix} onValue={setPrefix} hint={`Sent as “${prefix}${spec?.display_name ?? ""}”.`} maxLength={50} />
      </div>
      {spec && <p class="muted">{spec.description}</p>}
      {(spec?.filters ?? []).map((key) => (
        <fieldset key={key}>
          <legend>Only these {key.replace("_", " ")} (none ticked: all)</legend>
          <div class="row">
            {(FILTER_VALUES[key] ?? []).map((value) => (
              <Check key={value} label={value} checked={(filters[key] ?? []).includes(value)} onValue={(on) => toggle(key, value, on)} />
            ))}
          </div>
        </fieldset>
      ))}
      <Check label="Enabled" checked={enabled} onValue={setEnabled} />
      <div class="row">
        <button type="submit" disabled={save.busy}>
          {subscription ? "Save subscription" : "Create"}
        </button>
        <button type="button" class="secondary" onClick={onCancel}>
          Cancel
        </button>
      </div>
      <ErrorBox error={save.error} />
    </form>
  );
}

function TestEvent({ subscriptionId, onSent }: { subscriptionId: string; onSent: () => void }) {
  const [mode, setMode] = useState("email");
  const [to, setTo] = useState("");
  const [result, setResult] = useState<string>();
  const action = useAction(async () => {
    setResult(undefined);
    const sent = await send<{ delivery_id: string; outcome?: string; http_status?: number | null }>(
      "POST",
      `/v1/admin/event-subscriptions/${seg(subscriptionId)}/test`,
      { [mode]: to.trim() },
    );
    setResult(`Test event sent: ${sent.outcome ?? "done"}${sent.http_status ? ` (HTTP ${sent.http_status})` : ""}. Delivery ${sent.delivery_id}.`);
    onSent();
  });
  return (
    <form
      class="row"
      aria-label="Send test event"
      onSubmit={(e) => {
        e.preventDefault();
        action.run();
      }}
    >
      <Select
        label="Send to"
        value={mode}
        onValue={setMode}
        options={[
          ["email", "Email"],
          ["mobile", "Mobile"],
        ]}
      />
      <Field label={mode === "email" ? "Customer email" : "Customer mobile"} type={mode === "email" ? "email" : "tel"} value={to} onValue={setTo} required hint="A customer of this store." />
      <button type="submit" disabled={action.busy}>
        {action.busy ? "Sending…" : "Send"}
      </button>
      <ErrorBox error={action.error} />
      {result && <Notice>{result}</Notice>}
    </form>
  );
}

function DeliveryLog() {
  const [status, setStatus] = useState("");
  const loaded = useLoad(() => get<{ items: Delivery[]; next_cursor: string | null }>("/v1/admin/deliveries", { status, limit: 50 }), [status]);
  const [open, setOpen] = useState<string | null>(null);
  return (
    <Section
      title="Delivery log"
      actions={
        <button type="button" class="secondary" onClick={loaded.reload} disabled={loaded.loading}>
          {loaded.loading ? "Refreshing…" : "Refresh"}
        </button>
      }
    >
      <Select
        label="Status"
        value={status}
        onValue={setStatus}
        options={[["", "All"], ...["pending", "delivered", "retrying", "dead", "skipped", "failed"].map((s): [string, string] => [s, s])]}
      />
      <Show loaded={loaded}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No deliveries yet.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table data-testid="delivery-log">
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Event</th>
                    <th scope="col">To</th>
                    <th scope="col">Status</th>
                    <th scope="col" class="n">Tries</th>
                    <th scope="col">Last result</th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((d) => {
                    const last = d.attempts[d.attempts.length - 1];
                    return (
                      <>
                        <tr key={d.delivery_id} data-delivery={d.delivery_id}>
                          <td>{when(d.created_at)}</td>
                          <td>
                            {d.event_type}
                            {d.test && <span class="badge">test</span>}
                          </td>
                          <td>
                            <code>{d.integration_id}</code>
                          </td>
                          <td>
                            <span class={`status ${d.status}`}>{d.status}</span>
                          </td>
                          <td class="n">
                            <button type="button" class="link" aria-expanded={open === d.delivery_id} onClick={() => setOpen(open === d.delivery_id ? null : d.delivery_id)}>
                              {d.attempts.length}
                            </button>
                          </td>
                          <td class="wrap">{last ? `${last.outcome}${last.http_status ? ` ${last.http_status}` : ""}${last.error ? `: ${last.error}` : ""}` : d.dead_reason ?? "—"}</td>
                        </tr>
                        {open === d.delivery_id && (
                          <tr key={`${d.delivery_id}-attempts`}>
                            <td colSpan={6}>
                              <ol class="plain">
                                {d.attempts.map((a) => (
                                  <li key={a.attempt}>
                                    #{a.attempt} {when(a.at)} — {a.outcome}
                                    {a.http_status ? ` HTTP ${a.http_status}` : ""} in {a.latency_ms} ms{a.error ? `: ${a.error}` : ""}
                                  </li>
                                ))}
                              </ol>
                            </td>
                          </tr>
                        )}
                      </>
                    );
                  })}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
    </Section>
  );
}

function DeadLetters({ onReplayed }: { onReplayed: () => void }) {
  const loaded = useLoad(() => get<{ items: DeadLetter[]; truncated: boolean }>("/v1/admin/deliveries/dead-letters"), []);
  const [result, setResult] = useState<string>();
  const replay = useAction(async (ids: string[] | null) => {
    setResult(undefined);
    const r = await send<{ replayed: number; not_found: string[]; failed: string[] }>("POST", "/v1/admin/deliveries/dead-letters/replay", ids ? { delivery_ids: ids } : {});
    setResult(`Replayed ${r.replayed}.${r.failed.length ? ` ${r.failed.length} could not be queued.` : ""}${r.not_found.length ? ` ${r.not_found.length} no longer dead.` : ""}`);
    loaded.reload();
    onReplayed();
  });
  return (
    <Section
      title="Dead letters"
      actions={
        <div class="row">
          <button type="button" class="secondary" onClick={loaded.reload} disabled={loaded.loading}>
            Refresh
          </button>
          <button type="button" disabled={replay.busy || !loaded.data?.items.length} onClick={() => replay.run(null)}>
            Replay all
          </button>
        </div>
      }
    >
      {result && <Notice>{result}</Notice>}
      <ErrorBox error={replay.error} />
      <Show loaded={loaded}>
        {(data) =>
          data.items.length === 0 ? (
            <Empty>No dead letters: every delivery went through or is still being tried.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table data-testid="dead-letters">
                <thead>
                  <tr>
                    <th scope="col">Dead since</th>
                    <th scope="col">Event</th>
                    <th scope="col">To</th>
                    <th scope="col">Reason</th>
                    <th scope="col" class="n">Tries</th>
                    <th scope="col">
                      <span class="sr-only">Actions</span>
                    </th>
                  </tr>
                </thead>
                <tbody>
                  {data.items.map((d) => (
                    <tr key={d.delivery_id} data-delivery={d.delivery_id}>
                      <td>{when(d.dead_since)}</td>
                      <td>{d.event_type}</td>
                      <td>
                        <code>{d.integration_id}</code>
                      </td>
                      <td class="wrap">
                        {d.outcome}: {d.reason}
                      </td>
                      <td class="n">{d.attempts}</td>
                      <td class="actions">
                        <button type="button" class="link" disabled={replay.busy} onClick={() => replay.run([d.delivery_id])} aria-label={`Replay delivery ${d.delivery_id}`}>
                          Replay
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
      {loaded.data?.truncated && <p class="muted">More dead letters may exist; refresh later.</p>}
    </Section>
  );
}
