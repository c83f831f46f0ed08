"""Entry point: `streamlit run app/main.py`. Page config, local-mode guard, registry check,
sign-in, the messages of the last write, navigation.

Each page is one thin script in pages/, listed by section in app/navigation.py.
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run app/main.py` puts only app/ on the path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from app import actions, background, bootstrap, navigation, sign_in  # noqa: E402
from app.components import flash  # noqa: E402

ASSETS = ROOT / "app" / "assets"


def main() -> None:
    # The icon is a file served by the app itself: a :material/...: page icon makes every browser
    # fetch the favicon from fonts.gstatic.com, and Steward's pages ask no other host for anything.
    st.set_page_config(page_title="Steward", page_icon=ASSETS / "steward.png", layout="wide")
    # The product's name and mark on every page (sidebar, and the top bar when it is collapsed).
    st.logo(ASSETS / "steward-logo.svg", icon_image=ASSETS / "steward-icon.svg", size="large")
    network_local_mode = bootstrap.guard_local_mode()  # stops when local mode would serve the network
    bootstrap.start()  # stops with one clear message when the registry is unusable
    background.start_delivery()  # only with STEWARD_NOTIFY_IN_APP; never blocks a page
    sign_in.sign_in()  # stops when nobody signed in may see data
    if network_local_mode:
        st.warning(bootstrap.LOCAL_MODE_BANNER, icon=":material/public:")
    flash.show(actions.take_flashes())  # what the last write did, on top of whichever page follows
    pages = st.navigation(navigation.sections(), expanded=True)  # every page in view, none folded away
    with bootstrap.database_errors():
        pages.run()


main()
