import { Client } from "./api";
import { pickLocale, texts } from "./i18n";
import { CART } from "./style";
import { safeColor } from "./rewards";

/**
 * `<pollen-cart-coins api-base app-key currency amount>` (or `lines='[{"product_id","quantity","unit_price"}]'`):
 * "You'll earn N coins" from POST /v1/cart/coins. Hidden when Pollen does not answer.
 */
export class PollenCartCoins extends HTMLElement {
  static observedAttributes = ["amount", "lines"];
  private shadow: ShadowRoot | null = null;

  connectedCallback(): void {
    if (!this.shadow) {
      this.shadow = this.attachShadow({ mode: "open" });
      const accent = safeColor(this.getAttribute("color")) ?? "#5b3cc4";
      this.shadow.innerHTML = `<style>:host { --pollen-accent: ${accent}; --pollen-accent-text: ${accent}; }\n${CART}</style><span class="root" role="status"></span>`;
    }
    void this.refresh();
  }

  attributeChangedCallback(): void {
    if (this.shadow) void this.refresh();
  }

  private async refresh(): Promise<void> {
    const out = this.shadow?.querySelector(".root");
    if (!out) return;
    const client = new Client({
      apiBase: this.getAttribute("api-base") ?? "",
      appKey: this.getAttribute("app-key") ?? "",
      tokenUrl: null,
      customerId: null,
    });
    const amount = this.getAttribute("amount");
    let lines: unknown;
    try {
      lines = this.getAttribute("lines") ? JSON.parse(this.getAttribute("lines")!) : [{ product_id: "cart", quantity: 1, unit_price: amount }];
    } catch {
      this.hidden = true;
      return;
    }
    const body: Record<string, unknown> = { currency: this.getAttribute("currency") ?? "USD", lines };
    const customerId = this.getAttribute("customer-id");
    if (customerId) body.customer_id = customerId;
    try {
      const answer = await client.call<{ coins: number }>("POST", "/v1/cart/coins", body);
      const locale = pickLocale(this.getAttribute("locale"));
      const n = new Intl.NumberFormat(locale).format(answer.coins);
      out.innerHTML = "";
      const strong = document.createElement("strong");
      strong.textContent = texts(locale).earnCart(n);
      out.appendChild(strong);
      this.dataset.coins = String(answer.coins);
      this.hidden = false;
    } catch {
      this.hidden = true;
    }
  }
}
