#!/usr/bin/env python3
"""Groups translation units for clang-tidy, so that each group's headers are parsed once.

clang-tidy 14 matches its checks over the whole AST of a translation unit, headers included
(Boost, OpenSSL, spdlog, toml++ ...), so a run costs about the size of every unit's includes
times the number of units. Units of one library share their includes and their compile flags:
tidying a file that #includes a batch of them costs about as much as tidying one.

Usage: tidy_unity.py BUILD_DIR OUT_DIR BATCH SOURCE...
Reads BUILD_DIR/compile_commands.json, writes OUT_DIR/<target>_<n>.cpp (one #include per unit,
units of one CMake target only, at most BATCH per file) and OUT_DIR/compile_commands.json, and
prints the paths of the grouped files, one per line. A source with no compile command is an
error: it would silently escape the check.
"""
import json
import os
import re
import sys


def target_of(entry):
    # CMake names every object file <dir>/CMakeFiles/<target>.dir/<source>.o; units of one
    # target are compiled with the same flags.
    command = entry.get("command") or " ".join(entry["arguments"])
    match = re.search(r"CMakeFiles/([^/ ]+)\.dir/", command)
    return match.group(1) if match else "no_target"


def main():
    if len(sys.argv) < 5:
        sys.exit("usage: tidy_unity.py BUILD_DIR OUT_DIR BATCH SOURCE...")
    build, out, batch = sys.argv[1], sys.argv[2], int(sys.argv[3])
    wanted = [os.path.realpath(s) for s in sys.argv[4:]]
    with open(os.path.join(build, "compile_commands.json"), encoding="utf-8") as f:
        database = json.load(f)
    by_file = {}
    for entry in database:
        path = os.path.realpath(os.path.join(entry["directory"], entry["file"]))
        by_file[path] = entry
    missing = [s for s in wanted if s not in by_file]
    if missing:
        sys.exit("tidy_unity.py: no compile command for " + ", ".join(missing) +
                 " (is it part of a target in " + build + "?)")

    groups = {}
    for source in wanted:
        groups.setdefault(target_of(by_file[source]), []).append(source)

    os.makedirs(out, exist_ok=True)
    commands = []
    for target, sources in sorted(groups.items()):
        sources.sort()
        for n in range(0, len(sources), batch):
            chunk = sources[n:n + batch]
            unity = os.path.join(os.path.realpath(out), f"{target}_{n // batch}.cpp")
            with open(unity, "w", encoding="utf-8") as f:
                f.writelines(f'#include "{s}"\n' for s in chunk)
            first = by_file[chunk[0]]
            entry = {"directory": first["directory"], "file": unity}
            if "arguments" in first:
                entry["arguments"] = [unity if a == first["file"] else a
                                      for a in first["arguments"]]
            else:
                entry["command"] = first["command"].replace(first["file"], unity)
            commands.append(entry)
            print(unity)
    with open(os.path.join(out, "compile_commands.json"), "w", encoding="utf-8") as f:
        json.dump(commands, f, indent=1)


if __name__ == "__main__":
    main()
