import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import {
  ApiError,
  Client,
  DEFAULT_SETTINGS,
  normalize,
  tokenSource,
  uuid,
  type Entry,
  type Offer,
  type PublicProgram,
  type Redeemed,
  type Settings,
  type Wallet,
} from "./api";
import { pickLocale, texts, type Texts } from "./i18n";
import { REWARDS } from "./style";

interface Referral {
  share_url?: string; // GET /v1/customers/{id}/referral
  link?: string;
  url?: string;
  referral_url?: string;
  code?: string;
}

interface Tier {
  tier?: { name?: string } | null;
  name?: string;
  next_tier?: { name?: string; remaining?: number | string } | null;
  progress?: { percent?: number; remaining?: number | string } | number | null;
}

interface Data {
  wallet: Wallet | null;
  offers: Offer[];
  history: Entry[] | null;
  referral: Referral | null;
  tier: Tier | null;
  program: PublicProgram | null;
}

interface Props {
  client: Client;
  t: Texts;
  locale: string;
  position: "left" | "right";
  settings: Settings;
  cartTotal: string | null;
  joinUrl: string;
  loginUrl: string;
  onUnreachable: () => void;
}

function number(locale: string, n: number): string {
  return new Intl.NumberFormat(locale).format(n);
}

function money(locale: string, amount: string, currency: string): string {
  try {
    // Intl formats a decimal string exactly (no float rounding of the amount).
    return new Intl.NumberFormat(locale, { style: "currency", currency }).format(amount as unknown as number);
  } catch {
    return `${amount} ${currency}`;
  }
}

function Widget(props: Props) {
  const { client, t, locale, position } = props;
  const [open, setOpen] = useState(false);
  const [guest, setGuest] = useState<boolean | null>(null);
  const [data, setData] = useState<Data | null>(null);
  const [failed, setFailed] = useState(false);
  const launcher = useRef<HTMLButtonElement>(null);
  const customerId = useRef<string | null>(null);

  async function load(): Promise<void> {
    const session = await client.signIn();
    customerId.current = session?.customerId ?? null;
    setGuest(session === null);
    const show = props.settings.sections;
    const cart = props.cartTotal ? `&cart_total=${encodeURIComponent(props.cartTotal)}` : "";
    const none = Promise.resolve(null);
    const program = show.ways_to_earn ? client.optional<PublicProgram>("/v1/program") : none;
    if (!session) {
      const [offers, ways] = await Promise.all([
        client.call<{ items: Offer[] }>("GET", `/v1/rewards?${cart.slice(1)}`),
        program,
      ]);
      setData({ wallet: null, offers: offers.items, history: null, referral: null, tier: null, program: ways });
      return;
    }
    const id = encodeURIComponent(session.customerId);
    const [wallet, offers, history, referral, tier, ways] = await Promise.all([
      client.call<Wallet>("GET", `/v1/customers/${id}/wallet`),
      client.call<{ items: Offer[] }>("GET", `/v1/rewards?customer_id=${id}${cart}`),
      show.history ? client.optional<{ items: Entry[] }>(`/v1/customers/${id}/transactions?limit=5`) : none,
      show.referral ? client.optional<Referral>(`/v1/customers/${id}/referral`) : none,
      show.tier ? client.optional<Tier>(`/v1/customers/${id}/tier`) : none,
      program,
    ]);
    setData({ wallet, offers: offers.items, history: history?.items ?? null, referral, tier, program: ways });
  }

  useEffect(() => {
    // The first load doubles as the reachability probe: no answer from Pollen, no launcher.
    load().catch((error: unknown) => {
      if (!(error instanceof ApiError) || error.status >= 500 || error.status === 401 || error.status === 403) {
        props.onUnreachable();
      } else {
        setFailed(true);
      }
    });
  }, []);

  function toggle(): void {
    const next = !open;
    setOpen(next);
    if (next) client.track("widget_opened", customerId.current);
    else launcher.current?.focus();
  }

  const { offset_x, offset_y } = props.settings.launcher;
  const side = position === "left" ? "left" : "right";
  return (
    <div class="root" onKeyDown={(e) => e.key === "Escape" && open && toggle()}>
      {open && (
        <div class={`panel ${position}`} style={{ bottom: `${offset_y + 60}px` }} role="dialog" aria-modal="false" aria-labelledby="pollen-title">
          <header>
            <h2 id="pollen-title">{guest ? t.joinTitle : t.title}</h2>
            <button type="button" onClick={toggle} autoFocus>
              {t.close}
            </button>
          </header>
          {failed && <section class="error">{t.error}</section>}
          {data && guest && <GuestView {...props} data={data} />}
          {data && !guest && <MemberView {...props} data={data} customerId={customerId.current!} reload={load} />}
        </div>
      )}
      <button
        ref={launcher}
        type="button"
        class="launcher"
        style={{ [side]: `${offset_x}px`, bottom: `${offset_y}px` }}
        aria-expanded={open}
        aria-haspopup="dialog"
        onClick={toggle}
      >
        {data?.wallet ? `${t.launcher} · ${number(locale, data.wallet.balance)}` : t.launcher}
      </button>
    </div>
  );
}

function GuestView(props: Props & { data: Data }) {
  const { t, locale, data } = props;
  return (
    <>
      <section data-testid="join">
        <p class="muted">{t.joinText}</p>
        <p class="row">
          <a href={props.joinUrl}>{t.join}</a>
          <a href={props.loginUrl}>{t.signIn}</a>
        </p>
      </section>
      {props.settings.sections.ways_to_earn && data.program && <WaysToEarn t={t} locale={locale} program={data.program} />}
      {props.settings.sections.rewards && data.offers.length > 0 && (
        <section>
          <h3>{t.wouldEarn}</h3>
          <ul>
            {data.offers.map((o) => (
              <li class="offer" key={o.reward_id}>
                <div class="row">
                  <span>{o.name}</span>
                  {o.coins !== null && <span class="muted">{t.cost(number(locale, o.coins))}</span>}
                </div>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

function MemberView(props: Props & { data: Data; customerId: string; reload: () => Promise<void> }) {
  const { t, locale, data, client, customerId } = props;
  const wallet = data.wallet!;
  const [redeemed, setRedeemed] = useState<Redeemed | null>(null);
  const [error, setError] = useState<string | null>(null);

  async function redeem(offer: Offer, coins: number | null): Promise<void> {
    setError(null);
    client.track("widget_clicked", customerId);
    const body: Record<string, unknown> = { reward_id: offer.reward_id, channel: "widget" };
    if (coins !== null) body.coins = coins;
    if (props.cartTotal) body.cart_total = props.cartTotal;
    try {
      const answer = await client.call<Redeemed>(
        "POST",
        `/v1/customers/${encodeURIComponent(customerId)}/redemptions`,
        body,
        { "idempotency-key": uuid() },
      );
      setRedeemed(answer);
      await props.reload();
    } catch (e) {
      const detail = e instanceof ApiError ? (e.body as { detail?: string } | null)?.detail : null;
      setError(detail || t.error);
    }
  }

  return (
    <>
      <section>
        <p class="balance" data-testid="balance" data-value={String(wallet.balance)}>
          {t.coins(number(locale, wallet.balance))}
        </p>
        <p class="muted">{t.worth(money(locale, wallet.balance_value, wallet.currency))}</p>
        {wallet.pending > 0 && <p class="muted">{t.pending(number(locale, wallet.pending))}</p>}
        {wallet.expiring.slice(0, 2).map((x) => (
          <p class="muted" key={x.expires_on}>
            {t.expiring(number(locale, x.coins), new Date(x.expires_on + "T00:00:00Z").toLocaleDateString(locale, { timeZone: "UTC" }))}
          </p>
        ))}
      </section>
      {props.settings.sections.tier && data.tier && <TierView t={t} tier={data.tier} />}
      {props.settings.sections.ways_to_earn && data.program && <WaysToEarn t={t} locale={locale} program={data.program} />}
      {props.settings.sections.rewards && <section aria-labelledby="pollen-rewards">
        <h3 id="pollen-rewards">{t.rewards}</h3>
        {redeemed && <CodeNotice t={t} locale={locale} redeemed={redeemed} />}
        {error && (
          <p class="error" role="alert">
            {error}
          </p>
        )}
        <ul>
          {data.offers.map((o) => (
            <OfferRow key={o.reward_id} t={t} locale={locale} currency={wallet.currency} offer={o} onRedeem={redeem} />
          ))}
        </ul>
      </section>}
      {props.settings.sections.referral && data.referral && <ReferralView t={t} client={client} customerId={customerId} referral={data.referral} />}
      {props.settings.sections.history && data.history && data.history.length > 0 && (
        <section>
          <h3>{t.history}</h3>
          <ul data-testid="history">
            {data.history.map((e) => (
              <li class="row" key={e.txn_id}>
                <span>
                  {t.txn[e.type] ?? e.type}
                  <span class="muted"> · {new Date(e.created_at).toLocaleDateString(locale)}</span>
                </span>
                <span>{(e.operation === "debit" ? "−" : "+") + number(locale, e.coins)}</span>
              </li>
            ))}
          </ul>
        </section>
      )}
    </>
  );
}

function OfferRow(props: { t: Texts; locale: string; currency: string; offer: Offer; onRedeem: (o: Offer, coins: number | null) => Promise<void> }) {
  const { t, locale, offer } = props;
  const allowed = offer.allowed_coins;
  const [coins, setCoins] = useState(allowed ? allowed.min : 0);
  const [busy, setBusy] = useState(false);
  const dynamic = offer.type === "dynamic";
  const canRedeem = offer.eligible && (!dynamic || (allowed !== null && allowed.max >= allowed.min));
  const sliderId = `pollen-slider-${offer.reward_id}`;
  // Coins × coin value, in cents by integer arithmetic on the decimal string (no float money).
  const off = dynamic && offer.coin_value ? centsToString(coins * toCents(offer.coin_value)) : null;

  async function click(): Promise<void> {
    setBusy(true);
    try {
      await props.onRedeem(offer, dynamic ? coins : null);
    } finally {
      setBusy(false);
    }
  }

  return (
    <li class="offer" data-reward={offer.reward_id}>
      <div class="row">
        <span>
          <strong>{offer.name}</strong>
          {offer.coins !== null && <span class="muted"> · {t.cost(number(locale, offer.coins))}</span>}
        </span>
        <button type="button" class="primary" disabled={!canRedeem || busy} onClick={click}>
          {t.redeem}
        </button>
      </div>
      {!offer.eligible && offer.reason && <p class="muted">{t.reasons[offer.reason] ?? offer.reason}</p>}
      {dynamic && canRedeem && allowed && (
        <div>
          <label class="muted" for={sliderId}>
            {t.use(number(locale, coins), off ? money(locale, off, props.currency) : "")}
          </label>
          <input
            id={sliderId}
            type="range"
            min={allowed.min}
            max={allowed.max}
            step={allowed.step}
            value={coins}
            aria-valuetext={t.coins(number(locale, coins))}
            onInput={(e) => setCoins(Number((e.target as HTMLInputElement).value))}
          />
        </div>
      )}
    </li>
  );
}

function toCents(decimal: string): number {
  const [whole, fraction = ""] = decimal.split(".");
  return Number(whole) * 10000 + Number((fraction + "0000").slice(0, 4)); // in 1/100 of a cent
}

function centsToString(units: number): string {
  const cents = Math.floor(units / 100);
  return `${Math.floor(cents / 100)}.${String(cents % 100).padStart(2, "0")}`;
}

function CodeNotice(props: { t: Texts; locale: string; redeemed: Redeemed }) {
  const { t, redeemed } = props;
  const [copied, setCopied] = useState(false);
  return (
    <div class="notice" role="status" data-testid="code">
      <p class="muted">{t.code}</p>
      <div class="row">
        <span class="code">{redeemed.coupon.code}</span>
        <button type="button" class="secondary" onClick={() => copy(redeemed.coupon.code).then(setCopied)}>
          {copied ? t.copied : t.copy}
        </button>
      </div>
      <p class="muted" data-testid="new-balance">{t.newBalance(number(props.locale, redeemed.balance))}</p>
    </div>
  );
}

function ReferralView(props: { t: Texts; client: Client; customerId: string; referral: Referral }) {
  const { t, client, customerId, referral } = props;
  const link = referral.share_url ?? referral.link ?? referral.url ?? referral.referral_url ?? "";
  const [copied, setCopied] = useState(false);
  if (!link) return null;
  return (
    <section data-testid="referral">
      <h3>{t.referral}</h3>
      <label class="muted" for="pollen-referral">
        {t.referralLink}
      </label>
      <input id="pollen-referral" type="text" readOnly value={link} />
      <p class="row">
        <button
          type="button"
          class="secondary"
          onClick={() =>
            copy(link).then((ok) => {
              setCopied(ok);
              client.track("referral_link_copied", customerId);
            })
          }
        >
          {copied ? t.copied : t.copy}
        </button>
        {typeof navigator.share === "function" && (
          <button
            type="button"
            class="secondary"
            onClick={() =>
              navigator.share({ url: link }).then(
                () => client.track("referral_shared", customerId),
                () => undefined,
              )
            }
          >
            {t.share}
          </button>
        )}
      </p>
    </section>
  );
}

function WaysToEarn(props: { t: Texts; locale: string; program: PublicProgram }) {
  const { t, locale, program } = props;
  const perOrder = t.perOrder(program.earning.coins_per_unit, money(locale, program.earning.unit_amount, program.currency));
  return (
    <section data-testid="ways-to-earn">
      <h3>{t.waysToEarn}</h3>
      <ul>
        <li class="row">
          <span>{perOrder}</span>
        </li>
        {program.triggers.map((trigger) => (
          <li class="row" key={trigger.trigger_id}>
            <span>{trigger.name ?? trigger.trigger_id}</span>
            <span class="muted">+{number(locale, trigger.coins)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function TierView(props: { t: Texts; tier: Tier }) {
  const { t, tier } = props;
  const name = tier.tier?.name ?? tier.name;
  if (!name) return null;
  const progress = tier.progress;
  const percent = typeof progress === "number" ? progress : progress?.percent;
  const remaining = tier.next_tier?.remaining ?? (typeof progress === "object" ? progress?.remaining : undefined);
  return (
    <section data-testid="tier">
      <h3>{t.tier}</h3>
      <p>{name}</p>
      {percent !== undefined && (
        <div class="bar" role="progressbar" aria-valuemin={0} aria-valuemax={100} aria-valuenow={percent} aria-label={t.tier}>
          <span style={{ width: `${Math.max(0, Math.min(100, percent))}%` }} />
        </div>
      )}
      {tier.next_tier?.name && remaining !== undefined && <p class="muted">{t.nextTier(tier.next_tier.name, String(remaining))}</p>}
    </section>
  );
}

async function copy(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/**
 * `<pollen-rewards api-base app-key token-url | token-mode="app-proxy" proxy-path, locale, cart-total>`:
 * the launcher and its panel. Colours, position, texts, languages and sections come from the merchant's
 * settings (`GET /v1/widget/settings`); `color` and `position` attributes, when set, win.
 */
export class PollenRewards extends HTMLElement {
  connectedCallback(): void {
    if (this.shadowRoot) return;
    const attached = performance.mark("pollen-rewards-attached").name;
    const shadow = this.attachShadow({ mode: "open" });
    const style = document.createElement("style");
    shadow.appendChild(style);
    const mount = document.createElement("div");
    shadow.appendChild(mount);
    const client = new Client({
      apiBase: this.getAttribute("api-base") ?? "",
      appKey: this.getAttribute("app-key") ?? "",
      tokenUrl: tokenSource(this.getAttribute("token-mode"), this.getAttribute("token-url"), this.getAttribute("proxy-path")),
      customerId: this.getAttribute("customer-id"),
    });
    void client.signIn(); // the token request runs alongside the settings request
    const hide = () => {
      this.hidden = true;
    };
    const show = (settings: Settings) => {
      const colors = { ...settings.colors, primary: safeColor(this.getAttribute("color")) ?? settings.colors.primary };
      style.textContent =
        `:host { --pollen-accent: ${colors.primary}; --pollen-accent-text: ${colors.primary}; ` +
        `--pollen-text: ${colors.text}; --pollen-bg: ${colors.background}; }\n${REWARDS}`;
      const attribute = this.getAttribute("position");
      const left = attribute ? attribute.endsWith("left") : settings.launcher.position === "bottom-left";
      const locale = pickLocale(this.getAttribute("locale"), settings.locales, settings.default_locale);
      render(
        <Widget
          client={client}
          t={texts(locale, settings.texts[locale])}
          locale={locale}
          position={left ? "left" : "right"}
          settings={settings}
          cartTotal={this.getAttribute("cart-total")}
          joinUrl={this.getAttribute("join-url") ?? "/account/register"}
          loginUrl={this.getAttribute("login-url") ?? "/account/login"}
          onUnreachable={hide}
        />,
        mount,
      );
    };
    // First render at once, from the settings this browser saw last (else the defaults): Preact renders
    // synchronously, so the launcher is in the DOM when the mark is set. Fresh settings follow.
    const cacheKey = `pollen.widget.${client.config.appKey.slice(-16)}`;
    const cached = readCache(cacheKey);
    show(cached ?? DEFAULT_SETTINGS);
    performance.measure("pollen-launcher", attached, performance.mark("pollen-launcher-rendered").name);
    client.settings().then((fresh) => {
      const text = JSON.stringify(fresh);
      if (text !== JSON.stringify(cached ?? DEFAULT_SETTINGS)) show(fresh);
      writeCache(cacheKey, text);
      performance.mark("pollen-settings-applied");
      this.dataset.ready = "";
    }, hide);
  }
}

function readCache(key: string): Settings | null {
  try {
    const text = localStorage.getItem(key);
    return text ? normalize(JSON.parse(text) as Partial<Settings>) : null;
  } catch {
    return null; // storage blocked (private mode, sandboxed frame): fetch every time
  }
}

function writeCache(key: string, text: string): void {
  try {
    localStorage.setItem(key, text);
  } catch {
    // storage blocked or full: nothing to keep
  }
}

function safeColor(value: string | null | undefined): string | null {
  return value && /^(#[0-9a-fA-F]{3,8}|[a-zA-Z]+|rgba?\([0-9.,\s%]+\))$/.test(value) ? value : null;
}

export { safeColor };
