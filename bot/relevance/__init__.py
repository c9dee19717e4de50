"""Relevance: does a feed entry report a persecuted person being forcibly returned?

Relevant: a person who fled political persecution (anti-war activist, deserter, mobilisation
evader, journalist, opposition member, critic, religious or ethnic dissident, asylum seeker) is,
or may soon be, extradited, deported, expelled, handed over or abducted to the state they fled,
or is detained, put on an interstate wanted list or refused asylum with a view to that; and
policy news that shapes such cases (courts refusing or suspending extraditions, treaties, UN
committees, official statements on draft evaders). The region is Russia, Belarus and Central
Asia with their transit countries (lexicon.yaml lists them as data).

Not relevant however close the words: issuing (выдача) visas, passports, loans or prizes;
extraditions between unrelated states; labour-migrant deportations; prisoner-of-war exchanges;
expelled diplomats; historical deportations; sport, economics, weather.

Borderline rules (tests/data/relevance_dev.jsonl has examples of each):
* Ordinary-crime extraditions to Russia/Belarus (fraud, drugs, murder) are NOT relevant unless
  the entry carries a political or war marker (activist, critic, "politically motivated",
  deserter, extremism charge, asylum): regimes dress political cases as fraud, and then rights
  groups say so, which supplies the marker. A bare "a Russian was extradited" is not an alert.
* Terrorism suspects are treated as ordinary crime; "extremism", "justifying terrorism",
  treason, Hizb ut-Tahrir, Jehovah's Witnesses and Group 24 are political markers.
* Entry bans and refusals at the border without a return to the persecuting state are NOT
  relevant; an expulsion or deportation order against an activist is.
* Detention alone is weak: it needs a target and two region countries (a Russian detained in
  Yerevan at Moscow's request), so domestic arrests in Bishkek or Tbilisi do not alert.
* Stories that name only Russia or Belarus (Russia expels a foreign journalist, Russia puts an
  émigré on its wanted list) are not relevant; one Central Asian state plus a strong action and
  a target is (Germany deports a Tajik opposition activist), and so is a strong action that
  names Russia or Belarus as the destination (France deports a Chechen blogger to Russia).

How it decides: see `scoring` (score = action × target × link × placement, relevant >= 0.5) and
`matcher` (terms compiled to dict lookups by lemma, Snowball stem or prefix; no user regex).

Lexicon extension (feeds.yaml, top-level key `lexicon:`), all keys optional, lists appended to
the built-in ones; errors raise `ConfigError` naming the key::

    lexicon:
      countries:
        KZ: [жанаозен*]              # more terms for a built-in country
        MD: {role: transit, terms: [молдов*, кишин*, moldova*]}   # a new one needs a role
      actions:
        deportation: {strong: [выдворен* за пределы*], weak: [...]}  # issue / strong / weak
      targets: [анархист*]
      policy: [...]
      crime: [...]
      offtopic: {lottery: [лотере*]}
      issuance: {objects: [сим карт*], window: 4}
      masks: [...]
      watchlist: [мовлаев*, gnyot*]  # names to follow; a name counts as a target
      returns: [в гродно]            # a destination in a persecuting state (see `scoring`)

Term syntax: ``word`` matches the word's forms (pymorphy3 lemma for Russian/Ukrainian, Snowball
stem for Latin script), ``word*`` any word starting so (3+ letters), several words a phrase in
order with at most 3 words between them. Action types: extradition, deportation, abduction,
asylum, detention, wanted-list; the verdict's action may also be "policy". Country roles:
origin (RU, BY, TM), both (KZ, KG, UZ, TJ, AZ), transit (the rest).
"""

from __future__ import annotations

from typing import Final

from bot.relevance.classifier import Classifier

LEXICON_EXTENSION_HELP: Final = __doc__[__doc__.index("Lexicon extension") :] if __doc__ else ""

__all__ = ["LEXICON_EXTENSION_HELP", "Classifier"]
