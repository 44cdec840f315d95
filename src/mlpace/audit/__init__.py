"""Audits: the MLPerf compliance tests, run end to end, with the official verdict and a strict one.

The tests (TEST01 accuracy in performance mode, TEST04 no result caching, TEST05 alternate seeds
(legacy), TEST06 LLM output consistency) are data: ``data/catalog.json`` and one audit.config
file per test and version under ``data/``. For each test mlpace prints

* the **official verdict**: the official verify script's rule, re-implemented with its quirks,
  its lines printed as the script prints them (``TEST PASS``, ``Accuracy check pass: True``,
  ``TEST01 verification complete`` ...), and
* the **strict verdict**: every byte of every response compared, per-sample mismatch lists, the
  performance difference with a confidence interval from the raw latencies, an extra TEST04 run
  that issues every sample once over a set twice the performance set, a check that each audit
  run really used its audit.config and its seeds, and advice on what a failure means. Where the
  official rule lets something through that the strict one catches, the output says so.

Entry points: :func:`run_audit` (``mlpace audit TEST0X|all ...``), :func:`verify`
(``mlpace audit verify TEST0X --reference DIR --test DIR``), :func:`plan_audit_run` (what
``mlpace run --audit-conf`` does with an audit.config).

Layout written under the output directory ``OUT`` (what ``mlpace package`` and the submission
checker read)::

    OUT/results/<system>/<model>/<scenario>/
        performance/run_1/mlperf_log_summary.txt, mlperf_log_detail.txt   (reference run, when
        accuracy/mlperf_log_accuracy.json, mlperf_log_{summary,detail}.txt,  mlpace ran it;
                 accuracy.txt (mlpace tasks: accuracy script + hash=...)    not with --reference)
        TEST01/verify_accuracy.txt, verify_performance.txt,
               accuracy/mlperf_log_accuracy.json,
               performance/run_1/mlperf_log_summary.txt, mlperf_log_detail.txt
        TEST04/verify_performance.txt, performance/run_1/mlperf_log_{summary,detail}.txt
        TEST05/verify_performance.txt, performance/run_1/mlperf_log_{summary,detail}.txt
        TEST06/verify_accuracy.txt, accuracy/mlperf_log_accuracy.json
    OUT/audit/<label>/                 (label: the scenario, or "harness"; never packaged)
        reference/accuracy/, reference/performance/run_1/   the reference runs' working dirs
        TEST01/, TEST04/, TEST04-unique/, TEST05/, TEST06/  one working dir per audit run, with
                                       its audit.config, every log (trace, raw samples) and, for
                                       a harness, harness.log
        TEST0X.verdict.txt, TEST0X.verdict.json            the full official + strict verdict

Only the files the official ``run_verification.py`` leaves are written into ``TEST0X/``
(``verify_*.txt`` hold exactly the official check's lines), because the checker rejects extra
files in ``performance/run_1``; everything mlpace adds stays under ``OUT/audit/``.
"""

from __future__ import annotations

from mlpace.audit.catalog import ALL_TESTS, applicable_tests, get_test
from mlpace.audit.plan import AuditRunPlan, plan_audit_run
from mlpace.audit.report import render_summary, render_verdict
from mlpace.audit.session import AuditOptions, AuditReport, ScenarioAudit, run_audit
from mlpace.audit.verify import Verdict, VerifyOptions, verify, write_official_layout

__all__ = [
    "ALL_TESTS",
    "AuditOptions",
    "AuditReport",
    "AuditRunPlan",
    "ScenarioAudit",
    "Verdict",
    "VerifyOptions",
    "get_test",
    "plan_audit_run",
    "render_summary",
    "render_verdict",
    "run_audit",
    "applicable_tests",
    "verify",
    "write_official_layout",
]
