"""The seed file `./scripts/demo` writes (`var/sandbox-seed.json`) and passes to the sandbox at every start:
`python -m fake_pagerduty.demo_seed MONITOR_URL`. A seed file is applied over what is there at each start
(seed.py), so it:

- points the Demo Monitor partner app's webhooks at the monitor's port;
- re-states the demo account's Acme Primary and Acme Secondary schedules as the default seed has them
  (seed_people.py, times in `seed_day`), so each start makes their rotation begin again that day (by the
  sandbox clock): Dana is on call at every start of the demo, however long ago `var/` was first seeded.

Nothing else the account holds is named, so everything else keeps its changes (users, services, the policy,
other schedules).
"""

from __future__ import annotations

import json
import sys
from typing import Any

from fake_pagerduty.seed import DEFAULT_SEED
from fake_pagerduty.seed_people import PRIMARY, SECONDARY

WEBHOOK_PATH = "/integrations/pagerduty/webhook"


def demo_seed(monitor_url: str) -> dict[str, Any]:
    (app,) = [a for a in DEFAULT_SEED["partner_apps"] if a["vendor_key"] == "demo-monitor"]
    (acme,) = [a for a in DEFAULT_SEED["accounts"] if a["subdomain"] == "acme"]
    return {
        "partner_apps": [{**{k: app[k] for k in ("vendor_key", "app_id", "name", "webhook_secret")},
                          "webhook_url": monitor_url.rstrip("/") + WEBHOOK_PATH}],
        "accounts": [{**{k: acme[k] for k in ("id", "subdomain", "name")},  # the name too: an entry sets it
                      "schedules": [s for s in acme["schedules"] if s["id"] in (PRIMARY, SECONDARY)]}],
    }


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m fake_pagerduty.demo_seed MONITOR_URL", file=sys.stderr)
        return 2
    print(json.dumps(demo_seed(argv[0]), indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
