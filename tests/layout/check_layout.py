#!/usr/bin/env python3
"""Checks the rooms' dependencies against the README's layout table.

The table under "## Layout" in README.md is the one source: each row names a
room (a folder), its CMake target, its one job and the rooms it may depend
on. This script fails (exit 1) when a room's code includes, or its CMake
target links, a room that its row does not allow:

  * #include "nodepulse/<room>/..." (public headers; exporters rooms are
    nodepulse/exporters/<room>/...) and "<folder>/..." paths of another room,
    in every .cc/.h under the room's folder;
  * target_link_libraries of the room's CMakeLists.txt files, mapped to rooms
    through the add_library() names each room's CMakeLists.txt declares.

It also fails when a test folder reaches a room's private headers other than
its own (target_include_directories with ${CMAKE_SOURCE_DIR}/<room>), or the
whole source tree (${CMAKE_SOURCE_DIR} alone).

Usage: check_layout.py [--root DIR]   (DIR: the repository; default: ../..)
"""
import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.M)
ADD_LIBRARY = re.compile(r'add_library\(\s*([A-Za-z0-9_:]+)')
LINK = re.compile(r'target_link_libraries\(([^)]*)\)', re.S)
TEST_INCLUDE_DIRS = re.compile(r'target_include_directories\(([^)]*)\)', re.S)


def parse_table(readme):
    """Rows of the layout table: {folder: (target, allowed folders)}."""
    text = open(readme, encoding='utf-8').read()
    start = text.index('## Layout')
    rooms = {}
    for line in text[start:].splitlines()[1:]:
        if line.startswith('## '):
            break
        cells = [c.strip() for c in line.strip().strip('|').split('|')]
        if len(cells) != 4 or not cells[0].startswith('`'):
            continue
        folder = cells[0].strip('`').rstrip('/')
        deps = re.findall(r'`([^`]+)`', cells[3])
        if cells[3] == 'any room':
            deps = ['*']
        rooms[folder] = (cells[1].strip('`'), [d.rstrip('/') for d in deps])
    if not rooms:
        sys.exit('check_layout: no layout table under "## Layout" in ' + readme)
    return rooms


def room_of_path(path, rooms):
    """The longest room folder that `path` (relative) lies in, or None."""
    best = None
    for folder in rooms:
        if path == folder or path.startswith(folder + '/'):
            if best is None or len(folder) > len(best):
                best = folder
    return best


def room_of_include(inc, rooms):
    """The room an #include "..." line names, or None (own/private/external)."""
    m = re.match(r'nodepulse/exporters/([a-z_]+)/', inc)
    if m:
        return 'exporters/' + m.group(1) if 'exporters/' + m.group(1) in rooms else 'exporters'
    m = re.match(r'nodepulse/([a-z_]+)/', inc)
    if m:
        return m.group(1) if m.group(1) in rooms else None
    # A source-tree path ("agent/config.h", "exporters/remote_write/x.h").
    return room_of_path(inc, rooms) if '/' in inc else None


def walk(root, folder, exts):
    for d, _, files in os.walk(os.path.join(root, folder)):
        for f in files:
            if f.endswith(exts):
                yield os.path.join(d, f)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--root', default=os.path.join(os.path.dirname(__file__), '..', '..'))
    root = os.path.abspath(ap.parse_args().root)
    rooms = parse_table(os.path.join(root, 'README.md'))
    errors = []

    def allowed(src, dst):
        deps = rooms[src][1]
        return dst == src or '*' in deps or dst in deps

    # Library names -> room, from each room's own CMakeLists.txt files.
    lib_room = {}
    for folder in rooms:
        for cm in walk(root, folder, ('CMakeLists.txt',)):
            rel = os.path.relpath(cm, root)
            if room_of_path(rel, rooms) != folder:
                continue
            for name in ADD_LIBRARY.findall(open(cm, encoding='utf-8').read()):
                lib_room[name] = folder
    for name in list(lib_room):
        lib_room[name.replace('nodepulse_', 'nodepulse::', 1)] = lib_room[name]

    for folder in rooms:
        for path in walk(root, folder, ('.cc', '.h')):
            rel = os.path.relpath(path, root)
            if room_of_path(rel, rooms) != folder:
                continue
            for inc in INCLUDE.findall(open(path, encoding='utf-8').read()):
                dst = room_of_include(inc, rooms)
                if dst is not None and not allowed(folder, dst):
                    errors.append(f'{rel}: includes "{inc}" ({dst}/), which {folder}/ may not use')
        for cm in walk(root, folder, ('CMakeLists.txt',)):
            rel = os.path.relpath(cm, root)
            if room_of_path(rel, rooms) != folder:
                continue
            for args in LINK.findall(open(cm, encoding='utf-8').read()):
                for word in args.split()[1:]:
                    dst = lib_room.get(word)
                    if dst is not None and not allowed(folder, dst):
                        errors.append(f'{rel}: links {word} ({dst}/), which {folder}/ may not use')

    # Tests reach only their own room's private headers. Known exception:
    # the end-to-end tests build runtime cgroup trees from the cgroup
    # collector's naming table (cgroup_naming.h), so the names they test
    # are the ones the collector parses.
    exempt = {('integration', 'collectors/cgroup')}
    for cm in walk(root, 'tests', ('CMakeLists.txt',)):
        rel = os.path.relpath(cm, root)
        own = os.path.dirname(os.path.relpath(cm, os.path.join(root, 'tests')))
        for args in TEST_INCLUDE_DIRS.findall(open(cm, encoding='utf-8').read()):
            for m in re.finditer(r'\$\{CMAKE_SOURCE_DIR\}(/[^\s)]*)?', args):
                sub = (m.group(1) or '').strip('/')
                if sub == '':
                    errors.append(f'{rel}: puts the whole source tree on the include path')
                elif (own, sub) not in exempt and room_of_path(sub, rooms) is not None and not (sub == own or own.startswith(sub + '/') or sub.startswith(own + '/')):
                    errors.append(f'{rel}: reaches {sub}/ private headers from tests/{own}/')

    for e in errors:
        print('layout violation:', e)
    print(f'check_layout: {len(rooms)} rooms, {len(errors)} violations')
    return 1 if errors else 0


if __name__ == '__main__':
    sys.exit(main())
