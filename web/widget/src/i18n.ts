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

export function pickLocale(attribute: string | null): string {
  const wanted = (attribute || document.documentElement.lang || navigator.language || "en").toLowerCase();
  const base = wanted.split("-")[0];
  return base in LOCALES ? base : "en";
}

export function texts(locale: string): Texts {
  return LOCALES[locale] ?? en;
}
