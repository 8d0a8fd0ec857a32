import { useState } from "preact/hooks";
import { send, get, seg } from "../api";
import { Empty, ErrorBox, Field, Section, Secret, Select, Show, useAction, useLoad, when } from "../ui";

interface ApiKey {
  key_id: string;
  name: string;
  scope: string;
  masked_key: string;
  status: "active" | "revoked";
  created_at: string;
  revoked_at: string | null;
}

export function ApiKeys() {
  const loaded = useLoad(() => get<{ items: ApiKey[] }>("/v1/admin/api-keys"), []);
  const [name, setName] = useState("");
  const [scope, setScope] = useState("read");
  const [created, setCreated] = useState<{ name: string; key: string } | null>(null);
  const create = useAction(async () => {
    const key = await send<ApiKey & { key: string }>("POST", "/v1/admin/api-keys", { name: name.trim(), scope });
    setCreated({ name: key.name, key: key.key });
    setName("");
    loaded.reload();
  });
  const revoke = useAction(async (id: string) => {
    await send("DELETE", `/v1/admin/api-keys/${seg(id)}`);
    loaded.reload();
  });
  return (
    <>
      <h1>API keys</h1>
      <Section title="Create a key">
        <form
          class="row"
          onSubmit={(e) => {
            e.preventDefault();
            create.run();
          }}
        >
          <Field label="Name" value={name} onValue={setName} required maxLength={100} hint="Who uses it, e.g. Mobile app." />
          <Select
            label="Scope"
            value={scope}
            onValue={setScope}
            options={[
              ["read", "Read"],
              ["write", "Write"],
              ["admin", "Admin"],
            ]}
          />
          <button type="submit" disabled={create.busy}>
            Create key
          </button>
        </form>
        <ErrorBox error={create.error} />
        {created && <Secret label={`Key “${created.name}”`} value={created.key} />}
      </Section>
      <Section title="Keys">
        <ErrorBox error={revoke.error} />
        <Show loaded={loaded}>
          {(data) =>
            data.items.length === 0 ? (
              <Empty>No keys.</Empty>
            ) : (
              <div class="table-wrap" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      <th scope="col">Name</th>
                      <th scope="col">Scope</th>
                      <th scope="col">Key</th>
                      <th scope="col">Status</th>
                      <th scope="col">Created</th>
                      <th scope="col">
                        <span class="sr-only">Actions</span>
                      </th>
                    </tr>
                  </thead>
                  <tbody>
                    {data.items.map((k) => (
                      <tr key={k.key_id}>
                        <td>{k.name}</td>
                        <td>{k.scope}</td>
                        <td class="wrap">
                          <code>{k.masked_key}</code>
                        </td>
                        <td>{k.status === "revoked" ? `revoked ${when(k.revoked_at)}` : "active"}</td>
                        <td>{when(k.created_at)}</td>
                        <td class="actions">
                          {k.status === "active" && (
                            <button
                              type="button"
                              class="link danger"
                              aria-label={`Revoke key ${k.name}`}
                              disabled={revoke.busy}
                              onClick={() => confirm(`Revoke “${k.name}”? Apps using it stop working at once.`) && revoke.run(k.key_id)}
                            >
                              Revoke
                            </button>
                          )}
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
    </>
  );
}
