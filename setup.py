"""Install the repo's folders under one import namespace, `brokerdesk`.

`platform/` has no __init__.py, so from the repo root `import platform` still finds the
standard library, while `brokerdesk.platform` resolves through this mapping
(docs/adr/0002-import-namespace.md).
"""

from setuptools import find_namespace_packages, setup

FOLDERS = ("platform", "tenants", "modules", "themes")

packages = []
for folder in FOLDERS:
    packages.append(f"brokerdesk.{folder}")
    packages += [
        f"brokerdesk.{folder}.{name}"
        for name in find_namespace_packages(where=folder, exclude=["*__pycache__*"])
    ]

setup(
    packages=packages,
    package_dir={f"brokerdesk.{folder}": folder for folder in FOLDERS},
    package_data={
        "": ["*.html", "*.txt", "*.css", "*.js", "*.svg", "*.png", "*.ico", "*.po", "*.mo"]
    },
    include_package_data=True,
)
