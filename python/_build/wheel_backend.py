"""PEP 517 build backend for vector-boot-evolution using only the standard library (no index needed).

Reads name, description, requires-python and scripts from pyproject.toml and the version from the
package's version.py (its `__version__`, the one place it is written), and writes a pure Python wheel
(py3-none-any) of the package directory, with console-script entry points.
"""
import base64
import hashlib
import os
import re

try:
    import tomllib
except ImportError:  # Python < 3.11: the few keys this file uses, read with regular expressions
    tomllib = None
import zipfile

_HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _project():
    p = _pyproject()
    if "version" not in p:  # dynamic: the package's own __version__, its one source
        p["version"] = _package_version(_dist_name(p))
    return p


def _package_version(package):
    with open(os.path.join(_HERE, package, "version.py"), "r", encoding="utf-8") as f:
        m = re.search(r'^__version__\s*=\s*"([^"]+)"', f.read(), re.M)
    if not m:
        raise ValueError("%s/version.py sets no __version__ = \"...\"" % package)
    return m.group(1)


def _pyproject():
    with open(os.path.join(_HERE, "pyproject.toml"), "rb") as f:
        raw = f.read()
    if tomllib is not None:
        return tomllib.loads(raw.decode("utf-8"))["project"]
    text = raw.decode("utf-8")
    sections = dict(re.findall(r"^\[([^\]]+)\]\n((?:(?!\[).*\n?)*)", text, re.M))
    pairs = lambda body: dict(re.findall(r'^([\w-]+)\s*=\s*"([^"]*)"', body, re.M))
    p = pairs(sections.get("project", ""))
    lic = re.search(r'^license\s*=\s*\{\s*text\s*=\s*"([^"]*)"', sections.get("project", ""), re.M)
    if lic:
        p["license"] = {"text": lic.group(1)}
    p["scripts"] = pairs(sections.get("project.scripts", ""))
    return p


def _dist_name(p):
    return p["name"].replace("-", "_")


def _metadata(p):
    lines = ["Metadata-Version: 2.1", "Name: %s" % p["name"], "Version: %s" % p["version"]]
    if "description" in p:
        lines.append("Summary: %s" % p["description"])
    if "requires-python" in p:
        lines.append("Requires-Python: %s" % p["requires-python"])
    lic = p.get("license", {})
    if isinstance(lic, dict) and "text" in lic:
        lines.append("License: %s" % lic["text"])
    return "\n".join(lines) + "\n"


def _entry_points(p):
    scripts = p.get("scripts", {})
    if not scripts:
        return ""
    return "[console_scripts]\n" + "".join("%s = %s\n" % kv for kv in sorted(scripts.items()))


def _dist_info_files(p):
    files = {"METADATA": _metadata(p), "WHEEL": "Wheel-Version: 1.0\nGenerator: vector-boot wheel_backend\nRoot-Is-Purelib: true\nTag: py3-none-any\n"}
    ep = _entry_points(p)
    if ep:
        files["entry_points.txt"] = ep
    return files


def get_requires_for_build_wheel(config_settings=None):
    return []


def get_requires_for_build_sdist(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory, config_settings=None):
    p = _project()
    name = "%s-%s.dist-info" % (_dist_name(p), p["version"])
    os.makedirs(os.path.join(metadata_directory, name), exist_ok=True)
    for fname, text in _dist_info_files(p).items():
        with open(os.path.join(metadata_directory, name, fname), "w", encoding="utf-8") as f:
            f.write(text)
    return name


def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    p = _project()
    packages = [_dist_name(p)]  # the import package has the distribution's name
    wheel_name = "%s-%s-py3-none-any.whl" % (_dist_name(p), p["version"])
    dist_info = "%s-%s.dist-info" % (_dist_name(p), p["version"])
    record = []

    def add(zf, arcname, data):
        zf.writestr(zipfile.ZipInfo(arcname, date_time=(1980, 1, 1, 0, 0, 0)), data)
        digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
        record.append("%s,sha256=%s,%d" % (arcname, digest, len(data)))

    with zipfile.ZipFile(os.path.join(wheel_directory, wheel_name), "w", zipfile.ZIP_DEFLATED) as zf:
        for pkg in packages:
            base = os.path.join(_HERE, pkg)
            for dirpath, dirnames, filenames in os.walk(base):
                dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
                for fn in sorted(filenames):
                    if fn.endswith(".py"):
                        full = os.path.join(dirpath, fn)
                        with open(full, "rb") as f:
                            add(zf, os.path.relpath(full, _HERE).replace(os.sep, "/"), f.read())
        for fname, text in _dist_info_files(p).items():
            add(zf, "%s/%s" % (dist_info, fname), text.encode("utf-8"))
        record.append("%s/RECORD,," % dist_info)
        zf.writestr(zipfile.ZipInfo("%s/RECORD" % dist_info, date_time=(1980, 1, 1, 0, 0, 0)), "\n".join(record) + "\n")
    return wheel_name
