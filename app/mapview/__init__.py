"""The map page (folium) and the static JS/CSS it needs, all served by the app."""
