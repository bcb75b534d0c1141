"""Tool-search benchmark: a query set over the real Cloudflare/GitHub/Stripe catalog."""
