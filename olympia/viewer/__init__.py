"""`olympia view`: browse a release as a self-contained static site (docs/viewer.md)."""
from olympia.viewer.site import SiteReport, build_site

__all__ = ["SiteReport", "build_site"]
