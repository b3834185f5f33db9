"""Run as a script by tests/test_concurrency_creates.py: the embedded default on a SQLite file (the test database is
in memory, where threads would not meet as the requests of a server do), with a few people saving at once.

Migrates the database named by DATABASE_URL, then sends previews and creates of the new-measure form from several
threads released together, and prints the status of each answer as JSON (a 500 prints its error).
"""

import json
import sys
import threading

import django

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.contrib.auth.models import Group  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402

from ecopark.roles import Role, ensure_role_groups  # noqa: E402
from measures.models import Measure, Resource  # noqa: E402
from tests.factories import EnterpriseFactory  # noqa: E402


def main(threads: int, rounds: int) -> dict:
    call_command("migrate", verbosity=0)
    ensure_role_groups()
    user = get_user_model().objects.create_user("staff.sqlite", is_staff=True)
    user.groups.add(Group.objects.get(name=Role.STAFF.value))
    enterprise = EnterpriseFactory()
    electricity = Resource.objects.get(code="electricity")
    clients = []
    for _ in range(threads):
        client = Client(raise_request_exception=False)
        client.force_login(user)
        clients.append(client)
    connection.close()

    def form(index: int) -> dict:
        return {
            "enterprise": str(enterprise.pk),
            "technique": Measure.Technique.GOOD_HOUSEKEEPING,
            "reference": "",
            "title_vi": f"Giải pháp {index}",
            "identified_on": "15/03/2023",
            "estimate_year": "2023",
            "investment_currency": "USD",
            "cost_currency": "USD",
            "savings-TOTAL_FORMS": "1",
            "savings-INITIAL_FORMS": "0",
            "savings-MIN_NUM_FORMS": "0",
            "savings-MAX_NUM_FORMS": "1000",
            "savings-0-resource": str(electricity.pk),
            "savings-0-quantity": "1000",
            "savings-0-unit": "kWh",
        }

    answers: list = []
    barrier = threading.Barrier(threads)

    def person(index: int) -> None:
        try:
            for round_ in range(rounds):
                barrier.wait(timeout=60)
                # Half the people ask for the figures (a write rolled back), the others save.
                url = "/measures/new/recp/figures/" if (index + round_) % 2 else "/measures/new/recp/"
                response = clients[index].post(url, form(index * rounds + round_))
                answers.append({"url": url, "status": response.status_code})
                if response.status_code >= 500:
                    answers[-1]["error"] = response.content.decode(errors="replace")[:2000]
        except BaseException as exc:  # reported in the output
            answers.append({"url": "", "status": 0, "error": repr(exc)})
        finally:
            connection.close()

    workers = [threading.Thread(target=person, args=(i,)) for i in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(timeout=300)
    options = connection.settings_dict["OPTIONS"]
    with connection.cursor() as cursor:
        journal_mode = cursor.execute("PRAGMA journal_mode").fetchone()[0]
    return {
        "answers": answers,
        "measures": Measure.objects.count(),
        "journal_mode": journal_mode,
        "transaction_mode": options.get("transaction_mode"),
    }


if __name__ == "__main__":
    print(json.dumps(main(int(sys.argv[1]), int(sys.argv[2]))))
