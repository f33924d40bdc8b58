#!/usr/bin/env python3
"""Wazuh integratord -> ctpd: posts one alert to ctpd's OSSEC/Wazuh intake.

Wazuh's integrator runs an integration named `custom-ctpd` as
    custom-ctpd <alert file> <api_key> <hook_url> [debug]
with the alert, as JSON, in <alert file> (`<alert_format>json</alert_format>`). This script
posts it to <hook_url> (ctpd's `POST {base}ossec/alerts`) with <api_key>, a token of a ctpd
account holding `role:agent`, as a bearer token. It uses Python's standard library only.

Exit status: 0 when ctpd committed the alert, 1 when it refused it or could not be reached
(the integrator logs the failure; see contrib/wazuh/README.md).
"""

import json
import sys
import urllib.error
import urllib.request

TIMEOUT_SECONDS = 10


def main(argv):
    if len(argv) < 4:
        print("usage: custom-ctpd <alert file> <api_key> <hook_url> [debug]", file=sys.stderr)
        return 1
    alert_file, token, hook_url = argv[1], argv[2], argv[3]
    debug = len(argv) > 4 and argv[4] == "debug"
    with open(alert_file, encoding="utf-8") as f:
        alert = json.load(f)
    body = json.dumps(alert, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
    request = urllib.request.Request(
        hook_url,
        data=body,
        method="POST",
        headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:
            answer = response.read().decode("utf-8", "replace")
            if debug:
                print(answer)
            return 0
    except urllib.error.HTTPError as e:
        print("ctpd refused alert %s: %s %s" % (alert.get("id", "?"), e.code, e.read().decode("utf-8", "replace")),
              file=sys.stderr)
    except (urllib.error.URLError, OSError) as e:
        print("ctpd could not be reached at %s: %s" % (hook_url, e), file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv))
