"""The sample app of examples/pipeline-app: renders a one-page site that greets its visitors and
names the commit it was built from. `python3 greeter.py --out public --commit <id>` writes
public/index.html and public/version.json."""
import argparse
import html
import json
import os


def greeting(name):
    """The line the page shows."""
    return f"Hello, {name}!"


def render(name, commit):
    """The page, as HTML text."""
    return ("<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>pipeline-app</title></head>\n"
            f"<body><h1>{html.escape(greeting(name))}</h1>\n"
            f"<p>Built from commit <code>{html.escape(commit)}</code>.</p></body></html>\n")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--commit", default="unknown")
    parser.add_argument("--name", default="pipeline")
    args = parser.parse_args()
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "index.html"), "w") as f:
        f.write(render(args.name, args.commit))
    with open(os.path.join(args.out, "version.json"), "w") as f:
        json.dump({"commit": args.commit, "greeting": greeting(args.name)}, f)
        f.write("\n")


if __name__ == "__main__":
    main()
