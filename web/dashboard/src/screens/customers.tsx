import { useState } from "preact/hooks";
import { ApiError, call, get, newIdempotencyKey, seg } from "../api";
import { Empty, ErrorBox, Field, Loading, Notice, Section, Show, num, useAction, useLoad, when } from "../ui";

interface Wallet {
  customer_id: string;
  balance: number;
  pending: number;
  lifetime_earned: number;
  lifetime_redeemed: number;
  lifetime_expired: number;
  currency: string;
  coin_value: string;
  balance_value: string;
  expiring: Array<{ coins: number; expires_on: string }>;
}
interface Txn {
  txn_id: string;
  type: string;
  operation: string;
  coins: number;
  balance_after: number;
  source: string;
  reference: string | null;
  created_at: string;
  expires_on: string | null;
  note: string | null;
}
interface Coupon {
  code: string;
  type: string;
  reward_id: string;
  value: string | null;
  currency: string | null;
  coins: number;
  status: string;
  created_at: string;
  expires_at: string;
  used_at: string | null;
  order_id: string | null;
}
interface Page<T> {
  items: T[];
  next_cursor: string | null;
}
interface Order {
  order_id: string;
  customer_id: string | null;
  status: string;
  coins_earned: number;
  coins_credited: number;
  coins_pending: number;
  shortfall: number;
  attributions: Array<Record<string, unknown>>;
  currency: string | null;
  total: string | null;
  discount_codes: string[];
  paid: boolean;
  cancelled: boolean;
  confirmed: boolean;
  confirm_on: string | null;
  refunds: string[];
  updated_at: string | null;
}

const go = (hash: string) => {
  location.hash = hash;
};

export function Customers({ customerId, orderId }: { customerId?: string; orderId?: string }) {
  return (
    <>
      <h1>Customers</h1>
      <FindCustomer initial={customerId ?? ""} />
      {customerId ? <Customer key={customerId} customerId={customerId} orderId={orderId} /> : <Empty>Find a customer by their id (the Shopify customer id for store customers).</Empty>}
    </>
  );
}

interface Found {
  customer_id: string;
  email: string | null;
  phone: string | null;
  first_name: string | null;
  last_name: string | null;
  wallet: { balance: number };
}

/** An email or a phone number is looked up (GET /v1/admin/customers?query=); anything else is an id. */
const isLookup = (text: string) => text.includes("@") || /^\+|[\s()]/.test(text);

function FindCustomer({ initial }: { initial: string }) {
  const [id, setId] = useState(initial);
  const [found, setFound] = useState<Found[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <form
        class="card row"
        role="search"
        aria-label="Find a customer"
        onSubmit={async (e) => {
          e.preventDefault();
          const text = id.trim();
          setError(null);
          setFound(null);
          if (!text) return;
          if (!isLookup(text)) {
            go(`#/customers/${encodeURIComponent(text)}`);
            return;
          }
          try {
            const page = await get<Page<Found>>("/v1/admin/customers", { query: text });
            if (page.items.length === 1) go(`#/customers/${encodeURIComponent(page.items[0].customer_id)}`);
            else setFound(page.items);
          } catch (err) {
            setError(err);
          }
        }}
      >
        <Field label="Customer id, email or phone" value={id} onValue={setId} required name="customer-id" />
        <button type="submit">Find</button>
      </form>
      <ErrorBox error={error} />
      {found && found.length === 0 ? <Empty>No customer has this email or phone.</Empty> : null}
      {found && found.length > 1 ? (
        <ul class="card" aria-label="Customers found">
          {found.map((c) => (
            <li key={c.customer_id}>
              <a href={`#/customers/${encodeURIComponent(c.customer_id)}`}>
                {c.customer_id} {c.email ?? c.phone ?? ""} ({num(c.wallet.balance)} coins)
              </a>
            </li>
          ))}
        </ul>
      ) : null}
    </>
  );
}

function Customer({ customerId, orderId }: { customerId: string; orderId?: string }) {
  const base = `/v1/customers/${seg(customerId)}`;
  const wallet = useLoad(() => get<Wallet>(`${base}/wallet`), [customerId]);
  const [version, setVersion] = useState(0);
  if (wallet.error instanceof ApiError && wallet.error.status === 404) {
    return <ErrorBox error={new ApiError(404, "Not found", `No customer ${customerId} in this store yet.`)} />;
  }
  return (
    <>
      <Show loaded={wallet}>{(w) => <WalletCard wallet={w} />}</Show>
      <Adjust
        customerId={customerId}
        onDone={() => {
          wallet.reload();
          setVersion((v) => v + 1);
        }}
      />
      {orderId && <OrderDetail orderId={orderId} customerId={customerId} />}
      <History key={`h${version}`} base={base} customerId={customerId} />
      <Coupons key={`c${version}`} base={base} />
      <FindOrder customerId={customerId} />
    </>
  );
}

function WalletCard({ wallet }: { wallet: Wallet }) {
  return (
    <Section title={`Wallet of ${wallet.customer_id}`}>
      <dl class="stats">
        <div>
          <dt>Balance</dt>
          <dd>
            <span data-testid="balance">{num(wallet.balance)}</span>
            <small class="muted worth">
              worth {wallet.balance_value} {wallet.currency}
            </small>
          </dd>
        </div>
        <div>
          <dt>Pending</dt>
          <dd data-testid="pending">{num(wallet.pending)}</dd>
        </div>
        <div>
          <dt>Earned</dt>
          <dd>{num(wallet.lifetime_earned)}</dd>
        </div>
        <div>
          <dt>Redeemed</dt>
          <dd>{num(wallet.lifetime_redeemed)}</dd>
        </div>
        <div>
          <dt>Expired</dt>
          <dd>{num(wallet.lifetime_expired)}</dd>
        </div>
      </dl>
      <h3>Expiring</h3>
      {wallet.expiring.length === 0 ? (
        <Empty>No coins set to expire.</Empty>
      ) : (
        <ul class="plain">
          {wallet.expiring.map((lot) => (
            <li key={lot.expires_on}>
              {num(lot.coins)} coins on {lot.expires_on}
            </li>
          ))}
        </ul>
      )}
    </Section>
  );
}

function Adjust({ customerId, onDone }: { customerId: string; onDone: () => void }) {
  const [coins, setCoins] = useState("");
  const [reason, setReason] = useState("");
  const [done, setDone] = useState<string>();
  // One key per intended adjustment: a retried submit of the same form is applied once.
  const [idem, setIdem] = useState(newIdempotencyKey);
  const action = useAction(async () => {
    setDone(undefined);
    const reply = await call<{ balance?: number }>("POST", `/v1/admin/customers/${seg(customerId)}/adjustments`, {
      body: { coins: Number(coins), reason },
      idempotencyKey: idem,
    });
    setDone(`Adjusted by ${coins} coins.${reply.data.balance !== undefined ? ` New balance: ${reply.data.balance}.` : ""}`);
    setCoins("");
    setReason("");
    setIdem(newIdempotencyKey());
    onDone();
  });
  const change = (set: (v: string) => void) => (v: string) => {
    set(v);
    setIdem(newIdempotencyKey());
  };
  return (
    <Section title="Adjust coins">
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          action.run();
        }}
      >
        <Field label="Coins (negative to take away)" type="number" step={1} value={coins} onValue={change(setCoins)} required name="coins" />
        <Field label="Reason" value={reason} onValue={change(setReason)} required maxLength={500} name="reason" />
        <button type="submit" disabled={action.busy}>
          {action.busy ? "Saving…" : "Adjust"}
        </button>
      </form>
      <ErrorBox error={action.error} />
      {done && <Notice>{done}</Notice>}
    </Section>
  );
}

function usePaged<T>(path: string, deps: unknown[]) {
  const [items, setItems] = useState<T[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const first = useLoad(async () => {
    const page = await get<Page<T>>(path, { limit: 25 });
    setItems(page.items);
    setCursor(page.next_cursor);
    return page;
  }, deps);
  const more = useAction(async () => {
    const page = await get<Page<T>>(path, { limit: 25, cursor });
    setItems((old) => [...old, ...page.items]);
    setCursor(page.next_cursor);
  });
  return { first, items, cursor, more };
}

function History({ base, customerId }: { base: string; customerId: string }) {
  const { first, items, cursor, more } = usePaged<Txn>(`${base}/transactions`, [base]);
  return (
    <Section title="History">
      <Show loaded={first}>
        {() =>
          items.length === 0 ? (
            <Empty>No transactions yet.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">When</th>
                    <th scope="col">Type</th>
                    <th scope="col" class="n">Coins</th>
                    <th scope="col" class="n">Balance</th>
                    <th scope="col">Source</th>
                    <th scope="col">Note</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((t) => (
                    <tr key={t.txn_id}>
                      <td>{when(t.created_at)}</td>
                      <td>{t.type}</td>
                      <td class="n">{t.operation === "debit" ? `−${t.coins}` : `+${t.coins}`}</td>
                      <td class="n">{num(t.balance_after)}</td>
                      <td>
                        {t.source === "order" && t.reference ? (
                          <a href={`#/customers/${encodeURIComponent(customerId)}/orders/${encodeURIComponent(t.reference)}`}>order {t.reference}</a>
                        ) : (
                          `${t.source}${t.reference ? ` · ${t.reference}` : ""}`
                        )}
                      </td>
                      <td>{t.note ?? ""}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
      {cursor && (
        <button type="button" class="secondary" disabled={more.busy} onClick={() => more.run()}>
          {more.busy ? "Loading…" : "Load more"}
        </button>
      )}
      <ErrorBox error={more.error} />
    </Section>
  );
}

function Coupons({ base }: { base: string }) {
  const { first, items, cursor, more } = usePaged<Coupon>(`${base}/coupons`, [base]);
  return (
    <Section title="Coupons">
      <Show loaded={first}>
        {() =>
          items.length === 0 ? (
            <Empty>No coupons yet.</Empty>
          ) : (
            <div class="table-wrap" tabIndex={0}>
              <table>
                <thead>
                  <tr>
                    <th scope="col">Code</th>
                    <th scope="col">Reward</th>
                    <th scope="col">Value</th>
                    <th scope="col" class="n">Coins</th>
                    <th scope="col">Status</th>
                    <th scope="col">Expires</th>
                    <th scope="col">Order</th>
                  </tr>
                </thead>
                <tbody>
                  {items.map((c) => (
                    <tr key={c.code}>
                      <td>
                        <code>{c.code}</code>
                      </td>
                      <td>{c.reward_id}</td>
                      <td>{c.value ? `${c.value}${c.type === "percentage" ? "%" : ` ${c.currency ?? ""}`}` : c.type.replace("_", " ")}</td>
                      <td class="n">{num(c.coins)}</td>
                      <td>{c.status}</td>
                      <td>{when(c.expires_at)}</td>
                      <td>{c.order_id ?? "—"}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )
        }
      </Show>
      {cursor && (
        <button type="button" class="secondary" disabled={more.busy} onClick={() => more.run()}>
          Load more
        </button>
      )}
    </Section>
  );
}

function FindOrder({ customerId }: { customerId: string }) {
  const [id, setId] = useState("");
  return (
    <Section title="Order detail">
      <form
        class="row"
        onSubmit={(e) => {
          e.preventDefault();
          if (id.trim()) go(`#/customers/${encodeURIComponent(customerId)}/orders/${encodeURIComponent(id.trim())}`);
        }}
      >
        <Field label="Order id" value={id} onValue={setId} required name="order-id" />
        <button type="submit">Show order</button>
      </form>
    </Section>
  );
}

function OrderDetail({ orderId, customerId }: { orderId: string; customerId: string }) {
  const order = useLoad(() => get<Order>(`/v1/admin/orders/${seg(orderId)}`), [orderId]);
  return (
    <Section
      title={`Order ${orderId}`}
      actions={
        <a class="button secondary" href={`#/customers/${encodeURIComponent(customerId)}`}>
          Close
        </a>
      }
    >
      {order.loading && !order.data ? <Loading /> : null}
      <Show loaded={order}>
        {(o) => (
          <>
            <dl class="stats">
              <div>
                <dt>Status</dt>
                <dd>{o.status}</dd>
              </div>
              <div>
                <dt>Total</dt>
                <dd>{o.total ? `${o.total} ${o.currency ?? ""}` : "—"}</dd>
              </div>
              <div>
                <dt>Coins earned</dt>
                <dd>{num(o.coins_earned)}</dd>
              </div>
              <div>
                <dt>Credited</dt>
                <dd>{num(o.coins_credited)}</dd>
              </div>
              <div>
                <dt>Pending</dt>
                <dd>{num(o.coins_pending)}</dd>
              </div>
              <div>
                <dt>Shortfall</dt>
                <dd>{num(o.shortfall)}</dd>
              </div>
            </dl>
            <p>
              {o.paid ? "Paid" : "Not paid"} · {o.cancelled ? "cancelled" : "not cancelled"} · {o.confirmed ? "confirmed" : `confirms on ${o.confirm_on ?? "—"}`} · discount codes: {o.discount_codes.join(", ") || "none"} · refunds:{" "}
              {o.refunds.join(", ") || "none"}
            </p>
            <h3>Attributions</h3>
            {o.attributions.length === 0 ? (
              <Empty>No Pollen coupon or referral was used on this order.</Empty>
            ) : (
              <div class="table-wrap" tabIndex={0}>
                <table>
                  <thead>
                    <tr>
                      {Object.keys(o.attributions[0]).map((k) => (
                        <th scope="col" key={k}>
                          {k.replace(/_/g, " ")}
                        </th>
                      ))}
                    </tr>
                  </thead>
                  <tbody>
                    {o.attributions.map((a, i) => (
                      <tr key={i}>
                        {Object.keys(o.attributions[0]).map((k) => (
                          <td key={k}>{String(a[k] ?? "—")}</td>
                        ))}
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )}
          </>
        )}
      </Show>
    </Section>
  );
}
