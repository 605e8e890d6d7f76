/*
 * Every text the map page writes, in one place (French; issue #13 adds English).
 * Numbers go through the page's locale; nothing here is HTML.
 */
window.AtlasMessages = (function () {
  'use strict';

  const NUMBER = new Intl.NumberFormat('fr-FR', { maximumFractionDigits: 1 });
  const n = (value) => NUMBER.format(value);
  const count = (value, one, several) => n(value) + ' ' + (value <= 1 ? one : several);
  const structures = (value) => count(value, 'structure', 'structures');

  return {
    locale: 'fr',
    number: n,
    structures: structures,
    loading: 'Chargement…',
    noSector: 'Aucun secteur sélectionné : cochez au moins un secteur.',
    loadFailed: (why) => 'Impossible de charger les structures (' + why + ').',
    viewAndFrance: (view, france) => structures(view) + ' dans la vue, ' + n(france) + ' en France',
    searchResults: (text, france, view) =>
      count(france, 'résultat', 'résultats') + ' en France pour « ' + text + ' », ' + n(view) + ' dans la vue',
    shortKeyword: (minimum) => ' (mot-clé : ' + minimum + ' caractères au moins)',
    nearby: (found, km) => structures(found) + ' à moins de ' + n(km) + ' km',
    nearbyListed: (shown) => ' (les ' + n(shown) + ' plus proches listées)',
    fitResults: 'Voir tous les résultats',
    listTitleView: 'Structures dans la vue',
    listTitleNearby: 'Structures les plus proches',
    listPartial: (shown, total) =>
      'Les ' + n(shown) + ' premières sur ' + n(total) + ' sont listées : zoomez pour la liste complète.',
    stackPartial: (shown, total) => 'Les ' + n(shown) + ' premières sur ' + n(total) + '.',
    cluster: (value) => structures(value) + ' : zoomer',
    stack: (value) => structures(value) + ' au même endroit',
    stackTitle: (value) => structures(value) + ' au même endroit',
    single: (name) => name,
    noneHere: 'Aucune structure ici',
    legend: 'Légende',
    otherSectors: 'Autres secteurs',
    sectorsAll: '(tous)',
    sectorsNone: '(aucun)',
    sectorsSome: (checked, total) => '(' + checked + ' sur ' + total + ')',
    sectorCount: (value) => (value <= 1 ? ' structure' : ' structures'),
    groupAll: (label) => 'Tout le groupe ' + label,
    allForms: 'Toutes les formes juridiques',
    allFrance: 'Toute la France',
    close: 'Fermer la fiche',
    cardRegion: 'Fiche de la structure',
    structurePage: 'Page de la structure',
    newTab: ' (nouvel onglet)',
    distance: (text) => 'À ' + text,
    metres: (value) => Math.round(value) + ' m',
    kilometres: (value) => n(value / 1000) + ' km',
    precision: {
      housenumber: (address) => 'Position à l’adresse : ' + address,
      street: (address) => 'Position dans la rue : ' + address,
      locality: () => 'Position approximative : au lieu-dit',
      municipality: () => 'Position approximative : au centre de la commune',
      postcode: () => 'Position approximative : au centre du code postal',
      given: () => 'Position donnée par la source',
    },
    unknownPrecision: 'Précision de la position inconnue',
    zoomIn: 'Zoomer',
    zoomOut: 'Dézoomer',
    mapLabel: 'Carte des structures',
    placeSuggestions: 'Lieux proposés',
    placeNotFound: (text) => 'Aucun lieu trouvé pour « ' + text + ' ».',
    placeMarked: (label) => 'Carte centrée sur ' + label,
    locating: 'Recherche de votre position…',
    geolocationDenied: 'Position refusée : autorisez la géolocalisation pour voir les structures proches.',
    geolocationFailed: 'Votre position est introuvable pour le moment.',
    geolocationMissing: "La géolocalisation n'est pas disponible sur cet appareil.",
    showMap: 'Carte',
    showList: 'Liste',
    filters: 'Filtres',
  };
})();
