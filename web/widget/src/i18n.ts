// Shopper-facing texts. A locale is picked from the `locale` attribute, else the page's <html lang>.
const en = {
  launcher: "Rewards",
  title: "Your rewards",
  close: "Close",
  coins: (n: string) => `${n} coins`,
  worth: (v: string) => `worth ${v}`,
  pending: (n: string) => `${n} coins pending`,
  expiring: (n: string, d: string) => `${n} coins expire on ${d}`,
  rewards: "Rewards",
  redeem: "Redeem",
  cost: (n: string) => `${n} coins`,
  use: (n: string, v: string) => `Use ${n} coins for ${v} off`,
  slider: "Coins to use",
  reasons: {
    insufficient_coins: "Not enough coins yet",
    below_minimum_order: "Cart below the minimum order",
    cart_too_small: "Add more to your cart",
    disabled: "Not available",
  } as Record<string, string>,
  code: "Your code",
  copy: "Copy",
  copied: "Copied",
  newBalance: (n: string) => `New balance: ${n} coins`,
  referral: "Refer a friend",
  referralLink: "Your referral link",
  share: "Share",
  tier: "Your tier",
  nextTier: (name: string, n: string) => `${n} to reach ${name}`,
  history: "Recent activity",
  joinTitle: "Join our rewards program",
  joinText: "Create an account to earn coins on every order and turn them into discounts.",
  join: "Join now",
  signIn: "Sign in",
  wouldEarn: "What you could get",
  error: "Something went wrong. Please try again.",
  earnCart: (n: string) => `You'll earn ${n} coins with this order`,
  waysToEarn: "Ways to earn",
  perOrder: (n: string, amount: string) => `${n} coins for every ${amount} spent`,
  txn: {
    reward: "Earned",
    redeem: "Redeemed",
    refund: "Refunded",
    expire: "Expired",
    adjust: "Adjusted",
    reversal: "Reversed",
  } as Record<string, string>,
};

export type Texts = typeof en;

const fr: Texts = {
  launcher: "Récompenses",
  title: "Vos récompenses",
  close: "Fermer",
  coins: (n) => `${n} pièces`,
  worth: (v) => `soit ${v}`,
  pending: (n) => `${n} pièces en attente`,
  expiring: (n, d) => `${n} pièces expirent le ${d}`,
  rewards: "Récompenses",
  redeem: "Échanger",
  cost: (n) => `${n} pièces`,
  use: (n, v) => `Utiliser ${n} pièces pour ${v} de remise`,
  slider: "Pièces à utiliser",
  reasons: {
    insufficient_coins: "Pas encore assez de pièces",
    below_minimum_order: "Panier sous le minimum de commande",
    cart_too_small: "Ajoutez des articles au panier",
    disabled: "Indisponible",
  },
  code: "Votre code",
  copy: "Copier",
  copied: "Copié",
  newBalance: (n) => `Nouveau solde : ${n} pièces`,
  referral: "Parrainez un ami",
  referralLink: "Votre lien de parrainage",
  share: "Partager",
  tier: "Votre niveau",
  nextTier: (name, n) => `${n} pour atteindre ${name}`,
  history: "Activité récente",
  joinTitle: "Rejoignez notre programme de fidélité",
  joinText: "Créez un compte pour gagner des pièces à chaque commande et les changer en remises.",
  join: "Rejoindre",
  signIn: "Se connecter",
  wouldEarn: "Ce que vous pourriez obtenir",
  error: "Une erreur est survenue. Veuillez réessayer.",
  earnCart: (n) => `Vous gagnerez ${n} pièces avec cette commande`,
  waysToEarn: "Comment gagner",
  perOrder: (n, amount) => `${n} pièces pour chaque ${amount} dépensé`,
  txn: {
    reward: "Gagné",
    redeem: "Échangé",
    refund: "Remboursé",
    expire: "Expiré",
    adjust: "Ajusté",
    reversal: "Annulé",
  },
};

const LOCALES: Record<string, Texts> = { en, fr };

/** The shopper's locale: the `locale` attribute, else the page's <html lang>, else the browser's, when
 * the merchant offers it (`offered`); otherwise the merchant's default (then English). */
export function pickLocale(attribute: string | null, offered: string[] = ["en", "fr"], fallback = "en"): string {
  const usable = offered.filter((l) => l in LOCALES);
  const wanted = (attribute || document.documentElement.lang || navigator.language || "").toLowerCase();
  const base = wanted.split("-")[0];
  if (usable.includes(base)) return base;
  return usable.includes(fallback) ? fallback : (usable[0] ?? "en");
}

/** The built-in texts of a locale, with the merchant's own launcher label and titles on top. */
export function texts(locale: string, own: { launcher?: string | null; title?: string | null; join_title?: string | null; join_text?: string | null } = {}): Texts {
  const base = LOCALES[locale] ?? en;
  return {
    ...base,
    launcher: own.launcher || base.launcher,
    title: own.title || base.title,
    joinTitle: own.join_title || base.joinTitle,
    joinText: own.join_text || base.joinText,
  };
}
