// The storefront widget: one script defining <pollen-rewards> and <pollen-cart-coins>.
import { PollenCartCoins } from "./cart-coins";
import { PollenRewards } from "./rewards";

if (!customElements.get("pollen-rewards")) customElements.define("pollen-rewards", PollenRewards);
if (!customElements.get("pollen-cart-coins")) customElements.define("pollen-cart-coins", PollenCartCoins);
