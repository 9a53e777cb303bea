"""The `matchguide` command: parse options, call one library function, map errors to exit codes."""

from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path
from typing import Any, Sequence

from generator import GENERATOR
from generator.errors import MatchguideError

EXIT_OK, EXIT_PROBLEMS, EXIT_FATAL = 0, 1, 2


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, got {text!r}") from None


def _shard(text: str) -> tuple[int, int]:
    try:
        k, n = (int(x) for x in text.split("/"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected K/N such as 1/4, got {text!r}") from None
    if not 1 <= k <= n:
        raise argparse.ArgumentTypeError(f"expected 1 <= K <= N, got {text!r}")
    return k, n


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--profiles", type=Path, default=Path("profiles"), metavar="DIR", help="applicant profiles (default: profiles)")
    p.add_argument("--content", type=Path, default=Path("content"), metavar="DIR", help="guide content (default: content)")
    p.add_argument("--theme", type=Path, default=Path("themes/default"), metavar="DIR", help="theme folder (default: themes/default)")
    p.add_argument("--only", nargs="+", metavar="ID", help="only these applicant ids")
    p.add_argument("--as-of", type=_date, metavar="DATE", help="the build date, YYYY-MM-DD (default: today); the only clock")
    p.add_argument("--cycle", type=int, metavar="YEAR", help="the site's ERAS cycle (default: the next one after --as-of)")


def build_parser() -> argparse.ArgumentParser:
    """The full command-line interface."""
    parser = argparse.ArgumentParser(prog="matchguide", description="Personalized residency-application guides for IMGs.")
    parser.add_argument("--version", action="version", version=GENERATOR)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("build", help="build every guide (HTML and PDF) and the manifest",
                       description="Build a guide (HTML page and PDF) for every applicant, plus output/manifest.json.",
                       epilog="example: matchguide build --as-of 2026-11-25 --only aisha-rahman")
    _common(p)
    p.add_argument("--out", type=Path, default=Path("output"), metavar="DIR", help="output folder (default: output)")
    p.add_argument("--no-pdf", action="store_true", help="skip the PDFs (HTML only)")
    p.add_argument("--jobs", type=int, metavar="N", help="PDF worker processes (default: CPU count)")
    p.add_argument("--force", action="store_true", help="rebuild every guide, even unchanged ones")
    p.add_argument("--shard", type=_shard, metavar="K/N", help="build only shard K of N of the cohort")
    p.add_argument("--quiet", action="store_true", help="print only problems and the summary")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("check", help="load and validate everything; write nothing",
                       description="Validate profiles, content, rules and templates, and list what each guide receives.",
                       epilog="example: matchguide check --as-of 2026-11-25")
    _common(p)
    p.add_argument("--quiet", action="store_true", help="print only problems and the summary")
    p.set_defaults(func=cmd_check)

    p = sub.add_parser("serve", help="preview the site locally; rebuild and reload on every change",
                       description="Build the HTML guides, serve them on this computer and rebuild when content/, "
                                   "the theme or profiles/ change; open pages reload by themselves. The files "
                                   "written stay script-free: the reload script is added only while serving.",
                       epilog="example: matchguide serve --as-of 2026-11-25 --port 8000  (then open the printed "
                              "address; /__matchguide/ lists the guides)")
    _common(p)
    p.add_argument("--out", type=Path, default=Path(".matchguide/preview"), metavar="DIR",
                   help="preview folder (default: .matchguide/preview, so a preview never replaces output/)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default: 8000; 0 picks a free one)")
    p.add_argument("--host", default="127.0.0.1",
                   help="address to listen on (default: 127.0.0.1, this computer only; guides are personal)")
    p.add_argument("--pdf", action="store_true", help="also build the PDFs on every rebuild (slower)")
    p.add_argument("--jobs", type=int, metavar="N", help="PDF worker processes (default: CPU count)")
    p.add_argument("--quiet", action="store_true", help="print only problems and one line per rebuild")
    p.set_defaults(func=cmd_serve)
    return parser


def _options(args: argparse.Namespace) -> Any:
    from generator.build import BuildOptions

    return BuildOptions(
        profiles=args.profiles, content=args.content, theme=args.theme, out=getattr(args, "out", Path("output")),
        only=args.only, pdf=getattr(args, "pdf", not getattr(args, "no_pdf", False)), as_of=args.as_of, cycle=args.cycle,
        jobs=getattr(args, "jobs", None), force=getattr(args, "force", False), shard=getattr(args, "shard", None),
    )


def cmd_build(args: argparse.Namespace) -> int:
    """`matchguide build`."""
    from generator import manifest
    from generator.build import build
    from generator.progress import ConsoleProgress, summary_table

    console = ConsoleProgress(sys.stderr, quiet=args.quiet)
    try:
        result = build(_options(args), console)
    finally:
        console.close()
    doc = manifest.read(result.manifest_path.parent) if result.manifest_path else None
    if doc and doc["profiles"] and not args.quiet:
        statuses = {**{i: "built" for i in result.rebuilt}, **{i: "unchanged" for i in result.kept}}
        print(summary_table(doc, statuses))
    print(f"built {len(result.rebuilt)} guide(s), {len(result.kept)} unchanged, {len(result.removed)} removed, "
          f"{len(result.problems)} problem(s) -> {result.manifest_path}")
    return EXIT_OK if result.ok else EXIT_PROBLEMS


def cmd_serve(args: argparse.Namespace) -> int:
    """`matchguide serve`."""
    from generator.progress import ConsoleProgress
    from generator.serve import serve

    console = ConsoleProgress(sys.stderr, quiet=args.quiet)
    try:
        serve(_options(args), host=args.host, port=args.port, reporter=console)
    except KeyboardInterrupt:
        pass  # Ctrl-C is how a preview ends; serve() has already shut the server down
    finally:
        console.close()
    return EXIT_OK


def cmd_check(args: argparse.Namespace) -> int:
    """`matchguide check`."""
    from generator.build import check
    from generator.facts import derive
    from generator.select import select

    inputs, profiles, problems = check(_options(args))
    for p in problems:
        print(f"error: {p}", file=sys.stderr)
    if not args.quiet:
        for profile in profiles:
            facts = derive(profile, inputs.strategy, inputs.as_of)
            sel = select(facts, inputs.content, inputs.theme)
            print(f"{profile.id}: band {facts['band']['id']}, layout {sel.layout.id}")
            print(f"  sections: {', '.join(s.id for s in sel.sections)}")
            print(f"  examples: {', '.join(s.id for s in sel.examples) or '-'}")
            print(f"  faq: {', '.join(s.id for s in sel.faq) or '-'}")
    print(f"checked {len(profiles)} valid profile(s), {len(problems)} problem(s)")
    return EXIT_OK if not problems else EXIT_PROBLEMS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except MatchguideError as exc:
        for problem in exc.problems:
            print(f"error: {problem}", file=sys.stderr)
        print(f"failed: {len(exc.problems)} problem(s); the previous output was left as it was", file=sys.stderr)
        return EXIT_PROBLEMS
    except KeyboardInterrupt:
        print("interrupted; the previous output was left as it was", file=sys.stderr)
        return 130
