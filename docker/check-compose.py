#!/usr/bin/python3
"""Checks docker/compose.yaml against the repository and the daemon (run by test-image.sh).

    check-compose.py COMPOSE_FILE HELP_TEXT OUT_DIR

HELP_TEXT is `arvel-cached --help` of the image, whose footer lists every CACHE_* variable.
Checks that the services app, cache and redis exist, that their build contexts and Dockerfiles
exist, that the cache is the app's sidecar (shares its network) and is reached by the app on
127.0.0.1 at the published port, and that every CACHE_* variable the cache sets is one the daemon
reads. Writes the environment of the app and of the cache (with ${VAR:-default} resolved to its
default) to OUT_DIR/app.env and OUT_DIR/cache.env, one NAME=VALUE a line.
"""

import os
import re
import sys

import yaml


def resolve(value):
    return re.sub(r"\$\{[A-Z_]+:-([^}]*)\}", r"\1", str(value))


def environment(service):
    env = service.get("environment") or {}
    if isinstance(env, list):
        env = dict(item.split("=", 1) for item in env)
    return {name: resolve(value) for name, value in env.items()}


def main(compose_path, help_path, out_dir):
    problems = []
    base = os.path.dirname(os.path.abspath(compose_path))
    with open(compose_path) as f:
        compose = yaml.safe_load(f)
    services = compose.get("services", {})
    for name in ("app", "cache", "redis"):
        if name not in services:
            problems.append(f"no service {name!r}")
    if problems:
        return problems
    app, cache = services["app"], services["cache"]
    for name, service in (("app", app), ("cache", cache)):
        build = service.get("build")
        if isinstance(build, str):
            build = {"context": build}
        if not build:
            problems.append(f"{name}: no build")
            continue
        context = os.path.normpath(os.path.join(base, build["context"]))
        dockerfile = os.path.join(context, build.get("dockerfile", "Dockerfile"))
        if not os.path.isfile(dockerfile):
            problems.append(f"{name}: {dockerfile} does not exist")
    if cache.get("network_mode") != "service:app":
        problems.append("cache: not the app's sidecar (network_mode: service:app)")
    known = set(re.findall(r"\bCACHE_[A-Z_]+\b", open(help_path).read()))
    cache_env, app_env = environment(cache), environment(app)
    for name in cache_env:
        if name.startswith("CACHE_") and name not in known:
            problems.append(f"cache: {name} is not a variable arvel-cached reads")
    if app_env.get("ARVEL_CACHE_HOST") != "127.0.0.1":
        problems.append("app: ARVEL_CACHE_HOST should be 127.0.0.1 (the sidecar)")
    cache_port = cache_env.get("CACHE_SERVER_PORT", "6380")
    if app_env.get("ARVEL_CACHE_PORT") != cache_port:
        problems.append(f"app: ARVEL_CACHE_PORT is not the sidecar's port {cache_port}")
    if app_env.get("ARVEL_CACHE_PASSWORD") != cache_env.get("CACHE_PASSWORD"):
        problems.append("app: ARVEL_CACHE_PASSWORD differs from the sidecar's CACHE_PASSWORD")
    if cache_env.get("CACHE_CONNECTION") == "redis" and cache_env.get("CACHE_HOST") != "redis":
        problems.append("cache: CACHE_HOST should name the redis service")
    published = " ".join(str(p) for p in app.get("ports", []))
    if f":{cache_port}:{cache_port}" not in published:
        problems.append(f"app: the sidecar's port {cache_port} is not published")
    for name, env in (("app", app_env), ("cache", cache_env)):
        with open(os.path.join(out_dir, f"{name}.env"), "w") as f:
            f.writelines(f"{key}={value}\n" for key, value in env.items())
    return problems


if __name__ == "__main__":
    problems = main(*sys.argv[1:4])
    for problem in problems:
        print(problem)
    sys.exit(1 if problems else 0)
