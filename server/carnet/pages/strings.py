"""The words of the server-rendered page shells, in French and in English.

What the scripts draw has its own table in ``static/src/i18n.js``.
"""

from __future__ import annotations

from carnet.i18n import Language

_STRINGS: dict[str, tuple[str, str]] = {
    # key: (French, English)
    "skip": ("Aller au contenu", "Skip to content"),
    "home": ("Mes carnets", "My carnets"),
    "public_carnets": ("Carnets publics", "Public carnets"),
    "login": ("Se connecter", "Sign in"),
    "logout": ("Se déconnecter", "Sign out"),
    "signup": ("Créer un compte", "Create an account"),
    "switch_language": ("English", "Français"),
    "switch_language_label": ("Read in English", "Lire en français"),
    "email": ("Adresse courriel", "Email address"),
    "password": ("Mot de passe", "Password"),
    "name": ("Nom affiché", "Display name"),
    "name_hint": (
        "Ce nom apparaît à côté de votre curseur et comme autrice ou auteur.",
        "This name shows beside your caret and as author.",
    ),
    "password_hint": ("Au moins 8 caractères.", "At least 8 characters."),
    "no_account": ("Pas encore de compte ?", "No account yet?"),
    "have_account": ("Déjà un compte ?", "Already have an account?"),
    "signup_closed": (
        "Les inscriptions sont fermées sur ce serveur.",
        "Sign-up is closed on this server.",
    ),
    "password_short": (
        "Le mot de passe doit compter au moins 8 caractères.",
        "The password needs at least 8 characters.",
    ),
    "fields_missing": ("Remplissez tous les champs.", "Fill in every field."),
    "foreign_form": (
        "Formulaire refusé : il ne vient pas d’une page de Carnet. Rechargez la page.",
        "Form refused: it does not come from a Carnet page. Reload the page.",
    ),
    "invitation_title": ("Invitation", "Invitation"),
    "invitation_text": (
        "Vous êtes invité·e à écrire dans un carnet.",
        "You are invited to write in a carnet.",
    ),
    "invitation_signin": (
        "Connectez-vous ou créez un compte pour accepter l’invitation.",
        "Sign in or create an account to accept the invitation.",
    ),
    "invitation_accept": ("Rejoindre le carnet", "Join the carnet"),
    "not_found": ("Page introuvable", "Page not found"),
    "not_found_text": (
        "Cette page n’existe pas, ou vous n’avez pas accès à son contenu.",
        "This page does not exist, or you cannot see what it holds.",
    ),
    "back_home": ("Retour à l’accueil", "Back to the home page"),
    "loading": ("Chargement…", "Loading…"),
    "tagline": (
        "Les carnets de notes de vos rencontres, écrits ensemble et en direct.",
        "The notebooks of your gatherings, written together, live.",
    ),
    "noscript": (
        "Cette page a besoin de JavaScript pour l’écriture en direct.",
        "This page needs JavaScript for live writing.",
    ),
    "new_carnet": ("Nouveau carnet", "New carnet"),
    "no_carnets": (
        "Vous n’avez pas encore de carnet. Créez-en un pour votre prochaine rencontre.",
        "You have no carnet yet. Create one for your next gathering.",
    ),
    "no_public_carnets": ("Aucun carnet public pour l’instant.", "No public carnet yet."),
    "carnet_title": ("Titre du carnet", "Carnet title"),
    "event_name": ("Nom de la rencontre", "Name of the gathering"),
    "event_start": ("Premier jour", "First day"),
    "event_end": ("Dernier jour", "Last day"),
    "event_place": ("Lieu", "Place"),
    "visibility": ("Visibilité", "Visibility"),
    "public": ("Public : tout le monde peut le lire", "Public: anyone can read it"),
    "private": ("Privé : ses membres seulement", "Private: members only"),
    "categories": ("Catégories", "Categories"),
    "categories_hint": (
        "Séparées par des virgules, par exemple : Récit, Atelier, Conférence.",
        "Comma-separated, for example: Story, Workshop, Talk.",
    ),
    "description": ("Description", "Description"),
    "writing_guide": ("Guide de rédaction", "Writing guide"),
    "create": ("Créer le carnet", "Create the carnet"),
    "notes_count": ("notes", "notes"),
    "note_count_one": ("note", "note"),
    "role_manager": ("gestion", "manager"),
    "role_contributor": ("contribution", "contributor"),
    "role_viewer": ("lecture", "reader"),
    "public_badge": ("public", "public"),
    "private_badge": ("privé", "private"),
}


class Strings:
    """``t.key`` in templates: the text in the page's language."""

    def __init__(self, language: Language) -> None:
        self._index = 1 if language == "en" else 0

    def __getattr__(self, key: str) -> str:
        try:
            return _STRINGS[key][self._index]
        except KeyError:
            raise AttributeError(key) from None


def strings(language: Language) -> Strings:
    return Strings(language)
