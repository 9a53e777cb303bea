"""The `matchguide` command: parse options, call one library function, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Sequence

from generator import GENERATOR
from generator.cli_options import parents, shard
from generator.errors import MatchguideError

EXIT_OK, EXIT_PROBLEMS = 0, 1
_WRITES_OUTPUT = ("build", "serve", "merge")  # commands that replace an output folder, and so can keep the old one


def build_parser() -> argparse.ArgumentParser:
    """The full command-line interface."""
    parser = argparse.ArgumentParser(prog="matchguide", description="Personalized residency-application guides for IMGs.")
    parser.add_argument("--version", action="version", version=GENERATOR)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    shared = parents()
    cohort = [shared["site"], shared["only"]]

    p = _command(sub, cmd_build, "build", help="build every guide (HTML and PDF) and the manifest",
                 description="Build a guide (HTML page and PDF) for every applicant, plus output/manifest.json.",
                 epilog="example: matchguide build --as-of 2026-11-25 --only aisha-rahman", parents=cohort)
    p.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="output folder (default: output)")
    p.add_argument("--no-pdf", action="store_true",
                   help="HTML only: make no PDFs. Unchanged guides keep their PDF; a guide that changed has its old "
                        "PDF withheld (not published, not emailed) until a build with PDFs")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes for PDFs, pages and the privacy check (default: CPU count)")
    p.add_argument("--force", action="store_true", help="rebuild every guide, even unchanged ones")
    p.add_argument("--shard", type=shard, metavar="K/N", help="build only shard K of N of the cohort")
    p.add_argument("--quiet", action="store_true", help="print only problems and the summary")
    p.add_argument("--ledger", type=Path, metavar="FILE",
                   help="send ledger the roster reads (default: .matchguide/ledger.jsonl beside the output folder)")

    p = _command(sub, cmd_check, "check", help="load and validate everything; write nothing",
                 description="Validate profiles, content, rules and templates, and list what each guide receives.",
                 epilog="example: matchguide check --as-of 2026-11-25 --coverage --strict", parents=cohort)
    p.add_argument("--quiet", action="store_true", help="print only problems and the summary")
    p.add_argument("--coverage", action="store_true",
                   help="print the cohort x rules matrix (who receives each section, example, FAQ entry and layout) "
                        "and warn about content nobody receives, rules true for everyone, applicants with no example")
    p.add_argument("--strict", action="store_true", help="treat coverage warnings as problems (exit code 1)")

    p = _command(sub, cmd_explain, "explain", help="show why one applicant's guide contains what it contains",
                 description="For one applicant: the key facts (band and the score it comes from, program tier "
                             "and its modifiers, flags, dates), then every section, example, FAQ entry and "
                             "layout, selected (✓) or not (·), with its rule and the fact values that decided it. "
                             "An example needs both its band and its rule.",
                 epilog="example: matchguide explain aisha-rahman --as-of 2026-11-25", parents=[shared["site"]])
    p.add_argument("id", metavar="ID", help="the applicant's id (by default the profile's file name without .yaml)")
    p.add_argument("--programs-only", action="store_true",
                   help="show only the program list: every program of the spreadsheet, on the list or not, and why")
    p.set_defaults(only=None)

    p = _command(sub, cmd_new, "new", help="write a new, commented applicant profile to fill in",
                 description="Write DIR/ID.yaml: a valid profile with the required fields filled with "
                             "placeholders and every optional field shown as a comment. Never overwrites a file.",
                 epilog="example: matchguide new aisha-rahman --email aisha@example.org")
    p.add_argument("id", metavar="ID", help="the applicant's id: lowercase letters, digits and hyphens")
    p.add_argument("--name", help="the applicant's name (default: from the id, e.g. 'Aisha Rahman')")
    p.add_argument("--email", help="the applicant's email (default: a placeholder ID@example.invalid)")
    p.add_argument("--graduation-year", type=int, metavar="YEAR", help="graduation year (default: this year)")
    p.add_argument("--dir", type=Path, default=Path("profiles"), metavar="DIR", help="profiles folder (default: profiles)")

    p = _command(sub, cmd_import, "import", help="turn an advisor's spreadsheet (.xlsx or .csv) into profiles",
                 description="Write DIR/<id>.yaml for every row of a spreadsheet (one applicant per row; the "
                             "columns are listed in docs/advisors.md). Each row is checked by the same rules as "
                             "a hand-written profile; a row with problems writes nothing and is reported by row "
                             "and column, the other rows are still written, and the exit code is 1. A row is "
                             "merged into an existing profile: fields the sheet leaves out or empty keep their "
                             "values, a row that changes nothing is reported as unchanged, and changes are "
                             "listed and written only with --overwrite.",
                 epilog="example: matchguide import cohort.csv --dir profiles --as-of 2026-11-25",
                 parents=[shared["sheet"]])
    p.add_argument("csv", type=Path, metavar="FILE",
                   help="the spreadsheet: .xlsx (first sheet) or .csv (UTF-8, `,` or `;`), header row first")
    p.add_argument("--overwrite", action="store_true",
                   help="update existing profiles with the fields the row changes (they are listed)")

    p = _command(sub, cmd_export, "export", help="write the profiles back to a spreadsheet (CSV) with the import columns",
                 description="Write every valid profile as one row of a CSV file (UTF-8, the columns `import` "
                             "reads), so the spreadsheet and the profiles go both ways: importing the file "
                             "again changes nothing. Invalid profiles are listed and left out (exit code 1).",
                 epilog="example: matchguide export cohort.csv --dir profiles", parents=[shared["sheet"]])
    p.add_argument("csv", type=Path, metavar="CSV", help="the file to write (replaced if it exists)")

    p = _command(sub, cmd_serve, "serve", help="preview the site locally; rebuild and reload on every change",
                 description="Build the guides into output/, serve output/site on this computer and rebuild "
                             "what changed when content/, the theme or profiles/ change; open pages reload by "
                             "themselves. The files written stay script-free: the reload script is added only "
                             "while serving. --no-pdf previews faster, in .matchguide/preview, so output/ keeps "
                             "its PDFs.",
                 epilog="example: matchguide serve --as-of 2026-11-25 --port 8000  (then open the printed "
                        "address; /__matchguide/ lists the guides)", parents=cohort)
    p.add_argument("--out", type=Path, metavar="DIR",
                   help="output folder (default: output, or .matchguide/preview with --no-pdf)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only; guides are personal)")
    p.add_argument("--no-pdf", action="store_true", help="HTML only: faster rebuilds, in a separate preview folder")
    p.add_argument("--jobs", type=int, metavar="N", help="worker processes for PDFs, pages and the privacy check (default: CPU count)")
    p.add_argument("--quiet", action="store_true", help="print only problems and one line per rebuild")

    p = _command(sub, cmd_merge, "merge", help="combine the output folders of shard builds into one output",
                 description="Combine the output folders of `matchguide build --shard K/N` runs into OUT, as one "
                             "full build would write it: every guide and PDF, one manifest, the roster. Shared "
                             "site files must be identical in every shard and each guide must sit at the address "
                             "the site key gives (MATCHGUIDE_SITE_KEY or .matchguide/site.key); the privacy check "
                             "runs on the merged site before OUT is replaced.",
                 epilog="example: matchguide merge output shards/shard-1 shards/shard-2 shards/shard-3",
                 parents=[shared["paths"]])  # profiles for the privacy check, the theme for the roster
    p.add_argument("out", type=Path, metavar="OUT", help="the merged output folder (replaced in one step)")
    p.add_argument("shards", type=Path, nargs="+", metavar="SHARD_DIR", help="output folders of the shard builds")

    p = _command(sub, cmd_email, "email", help="write each applicant's email to output/outbox/, or send it with --send",
                 description="Render one message per applicant (subject, text and HTML bodies, the guide link, "
                             "the PDF attached). Dry run by default; --send delivers over SMTP configured by "
                             "MATCHGUIDE_SMTP_* variables (docs/email.md). A ledger makes each guide go out once.",
                 epilog="example: matchguide email --send --limit 5", parents=[shared["only"]])
    p.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="the built output (default: output)")
    p.add_argument("--theme", type=Path, default=Path("themes/default"), metavar="DIR", help="theme with email/ templates")
    p.add_argument("--profiles", type=Path, default=Path("profiles"), metavar="DIR", help="where the addresses are")
    p.add_argument("--ledger", type=Path, metavar="FILE", help="send ledger (default: .matchguide/ledger.jsonl)")
    p.add_argument("--send", action="store_true", help="deliver for real (default: write .eml files only)")
    p.add_argument("--limit", type=int, metavar="N", help="send at most N messages this run")
    p.add_argument("--rate", type=float, default=30.0, metavar="PER_MIN", help="messages per minute (default: 30)")
    p.add_argument("--programs", type=Path, metavar="FILE",
                   help="the program spreadsheet the guides were built from (default: content/data/programs.csv); "
                        "if it changed since the build, --send refuses until you build again")
    p.add_argument("--resend-changed", action="store_true", help="re-send guides whose PDF changed since it was sent")
    p.add_argument("--retry-unknown", action="store_true", help="re-send messages whose outcome is unknown")
    p.add_argument("--max-retries", type=int, default=3, metavar="N", help="retries of a transient SMTP error")
    p.add_argument("--backoff", type=float, default=2.0, metavar="SECONDS", help="first retry delay, doubled each time")
    return parser


def _command(sub: Any, func: Any, name: str, **parser_options: Any) -> argparse.ArgumentParser:
    """Add the subcommand `name`, run by `func(args)`; `parser_options` are argparse's (help, description, ...)."""
    command = sub.add_parser(name, **parser_options)
    command.set_defaults(func=func)
    return command

def _options(args: argparse.Namespace) -> Any:
    from generator.project import BuildOptions

    return BuildOptions(
        profiles=args.profiles, content=args.content, theme=args.theme, out=getattr(args, "out", Path("output")),
        only=args.only, pdf=getattr(args, "pdf", not getattr(args, "no_pdf", False)), as_of=args.as_of, cycle=args.cycle,
        jobs=getattr(args, "jobs", None), force=getattr(args, "force", False), shard=getattr(args, "shard", None),
        ledger=getattr(args, "ledger", None), programs=getattr(args, "programs", None),
    )


def cmd_build(args: argparse.Namespace) -> int:
    """`matchguide build`."""
    from generator.write import manifest
    from generator.build import build
    from generator.console import ConsoleProgress, show_summary

    console = ConsoleProgress(sys.stderr, quiet=args.quiet)
    try:
        result = build(_options(args), console)
    finally:
        console.close()
    doc = manifest.read(result.manifest_path.parent) if result.manifest_path else None
    if doc and doc["profiles"] and not args.quiet:
        statuses = {**{i: "built" for i in result.rebuilt}, **{i: "unchanged" for i in result.kept}}
        show_summary(doc, statuses, sys.stdout)
    stale = f", {len(result.stale)} previous version(s) kept after a failure" if result.stale else ""
    if result.withheld:
        stale += f", {len(result.withheld)} changed guide(s) without their old PDF (build with PDFs to make new ones)"
    print(f"built {len(result.rebuilt)} guide(s), {len(result.kept)} unchanged{stale}, {len(result.removed)} removed, "
          f"{len(result.problems)} problem(s) -> {result.manifest_path}")
    if args.only and doc:
        from generator.deliver.message import guide_locations

        print("\n".join(guide_locations(doc, args.out, args.only)))
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def cmd_serve(args: argparse.Namespace) -> int:
    """`matchguide serve`."""
    from generator.console import ConsoleProgress
    from generator.authoring.serve import serve

    # An HTML-only preview must not replace output/, whose PDFs `email` sends.
    args.out = args.out or (Path(".matchguide/preview") if args.no_pdf else Path("output"))
    console = ConsoleProgress(sys.stderr, quiet=args.quiet)
    try:
        serve(_options(args), host=args.host, port=args.port, reporter=console)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a preview ends; serve() has already shut the server down
    finally:
        console.close()
    return EXIT_OK


def cmd_merge(args: argparse.Namespace) -> int:
    """`matchguide merge`."""
    from generator.project import BuildOptions
    from generator.write.merge import merge

    result = merge(args.out, args.shards, BuildOptions(profiles=args.profiles, content=args.content, theme=args.theme))
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"merged {result.shards} shard(s): {len(result.entries)} guide(s), {len(result.problems)} problem(s) "
          f"-> {result.manifest_path}")
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def cmd_check(args: argparse.Namespace) -> int:
    """`matchguide check`."""
    from generator.authoring.explain import chosen
    from generator.authoring.lint import check_warnings
    from generator.build import check
    from generator.decide.program_view import list_summary

    inputs, guides, problems = check(_options(args))
    profiles = [guide.profile for guide in guides]
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    # Unknown spreadsheet columns too: advisors keep their own, so a warning; an error under --strict.
    warnings = check_warnings(inputs, profiles, args.profiles) + list(inputs.programs.warnings if inputs.programs else ())
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if not args.quiet:
        for guide in guides:
            print("\n".join(chosen(guide.profile.id, guide.facts, guide.selection)))
            print(f"  program list: {list_summary(guide.program_list, guide.facts['program_list_status'])}")
    coverage = []
    if args.coverage or args.strict:
        from generator.authoring.coverage import cohort_coverage, format_matrix

        cohort = [(guide.profile, guide.facts, guide.selection) for guide in guides]
        cov = cohort_coverage(inputs, cohort, cohort_source=str(args.profiles))
        if args.coverage:
            from generator.authoring.program_report import coverage_lines

            print(format_matrix(cov), end="")
            decided = [(guide.profile.id, guide.facts) for guide in guides]
            print("\n".join(coverage_lines(decided, inputs.program_index, inputs.program_status)))
        coverage = list(cov.warnings)
        for w in coverage:
            print(f"warning: {w}", file=sys.stderr)
    counted = f", {len(coverage)} coverage warning(s)" if args.coverage or args.strict else ""
    print(f"checked {len(profiles)} valid profile(s), {len(problems)} problem(s), {len(warnings)} warning(s){counted}")
    return EXIT_PROBLEMS if problems or (args.strict and (warnings or coverage)) else EXIT_OK


def _report_failure(exc: MatchguideError) -> int:
    for problem in exc.problems:
        print(f"error: {problem}", file=sys.stderr)
    return EXIT_PROBLEMS


def cmd_explain(args: argparse.Namespace) -> int:
    """`matchguide explain`."""
    from generator.authoring.explain import explain_applicant, format_text
    from generator.authoring.program_report import explain_programs

    try:
        if args.programs_only:
            print("\n".join(explain_programs(_options(args), args.id)))
            return EXIT_OK
        explanation, others = explain_applicant(_options(args), args.id)
        programs = explain_programs(_options(args), args.id)[1:]
    except MatchguideError as exc:
        return _report_failure(exc)
    print(format_text(explanation), end="")
    print("\n".join(programs))
    if others:
        print(f"note: {len(others)} problem(s) in other profiles; `matchguide check` lists them", file=sys.stderr)
    return EXIT_OK


def cmd_new(args: argparse.Namespace) -> int:
    """`matchguide new`."""
    from generator.authoring.scaffold import scaffold

    try:
        path = scaffold(args.dir, args.id, name=args.name, email=args.email, graduation_year=args.graduation_year)
    except MatchguideError as exc:
        return _report_failure(exc)
    print(f"wrote {path}; fill it in, then run: matchguide check --only {args.id}")
    return EXIT_OK


def cmd_import(args: argparse.Namespace) -> int:
    """`matchguide import`."""
    from generator.authoring.importer import import_file

    try:
        result = import_file(args.csv, args.dir, content=args.content, as_of=args.as_of, cycle=args.cycle,
                             overwrite=args.overwrite)
    except MatchguideError as exc:
        return _report_failure(exc)
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    for outcome in result.outcomes:
        print(outcome)
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    print(result.summary())
    if result.problems:
        print("fix those rows and import again", file=sys.stderr)
    return EXIT_PROBLEMS if result.problems else EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    """`matchguide export`."""
    from generator.authoring.export import export_file

    try:
        result = export_file(args.dir, args.csv, content=args.content, as_of=args.as_of, cycle=args.cycle)
    except MatchguideError as exc:
        return _report_failure(exc)
    for problem in result.problems:
        print(f"error: {problem}", file=sys.stderr)
    left = f"; {len(result.problems)} problem(s), those profiles were left out" if result.problems else ""
    print(f"exported {len(result.ids)} profile(s) to {result.path}{left}")
    return EXIT_PROBLEMS if result.problems else EXIT_OK


def cmd_email(args: argparse.Namespace) -> int:
    """`matchguide email`."""
    from generator.deliver.ledger import default_path
    from generator.deliver.sending import EmailOptions, run_email
    from generator.console import ConsoleProgress

    options = EmailOptions(
        out_dir=args.out, theme_dir=args.theme, ledger_path=args.ledger or default_path(args.out), send=args.send,
        only=args.only, limit=args.limit, rate_per_minute=args.rate, resend_changed=args.resend_changed,
        retry_unknown=args.retry_unknown, max_retries=args.max_retries, backoff_seconds=args.backoff,
        profiles_dir=args.profiles, programs=args.programs,
    )
    console = ConsoleProgress(sys.stderr)
    try:
        result = run_email(options, reporter=console)
    finally:
        console.close()
    print(result.summary())
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    kept = "; the previous output was left as it was" if args.command in _WRITES_OUTPUT else ""
    try:
        return args.func(args)
    except MatchguideError as exc:
        _report_failure(exc)
        print(f"failed: {len(exc.problems)} problem(s){kept}", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print(f"interrupted{kept}", file=sys.stderr)
        return 130
