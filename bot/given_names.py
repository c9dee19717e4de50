"""First names that `bot.people` must know by name, because their forms look like surnames:
the given names whose keys end like a surname's (rule 2, `GIVEN_NAMES`) and the Ukrainian
datives in -ові/-еві/-єві that are first names (rule 8, `DATIVE_FIRST_NAMES`), and the
titles and roles that an English headline capitalises before a surname, which are none
(rule 7, `NOT_FIRST_NAMES`). Data only."""

from __future__ import annotations

from typing import Final

from bot.names import fold, name_key

# Given names whose keys end like a surname's (`bot.people` rule 2), else two people of
# one first name shared a "surname" and merged: -ян as Armenian surnames (Тетяна and Тетяну
# are tetian, as Саргсяна is sargsian; Дем'ян), -ин/-ина as Russian ones (Ирина is irin, as
# Ильина is ilin; Константин), -ов and -ко (Яков, Марко), and the genitives of -ана/-анна as
# Georgian -ани (Анны, Светланы, Оксани; Чиковани). Other spellings of a name meet these by
# key. The few surnames spelt as one (Галин, Зорьян) are read as first names: their reports
# meet by their text and other names alone.
GIVEN_NAMES: Final = frozenset(
    filter(None, map(name_key, (
        "Дем'ян", "Лук'ян", "Омелян", "Емельян", "Касьян", "Севастьян", "Кирьян", "Валер'ян",
        "Мар'ян", "Тетяна", "Зоряна", "Християн", "Северян", "Адріан", "Ульян", "Максиміліан",
        "Ирина", "Марина", "Галина", "Екатерина", "Катерина", "Кристина", "Христина", "Алина",
        "Полина", "Карина", "Ангелина", "Дарина", "Зарина", "Регина", "Ярина", "Василина",
        "Каролина", "Евеліна", "Альбина", "Валентина", "Константин", "Костянтин", "Вениамин",
        "Амин", "Ясин", "Эмин", "Нуриддин", "Шамсиддин", "Камолиддин", "Мухиддин",
        "Зайниддин", "Фахриддин", "Сайфиддин", "Джалолиддин", "Бахриддин", "Низомиддин",
        "Насриддин", "Сирожиддин", "Салохиддин", "Шахобиддин", "Жалолиддин", "Нажмиддин",
        "Шамсуддин", "Камолуддин", "Фахруддин", "Хусейн", "Хусейин", "Мадина", "Медина",
        "Сабина", "Элина", "Эвелина", "Яков", "Марко",
        "Анны", "Ганни", "Жанны", "Светланы", "Світлани", "Татьяны", "Тетяни", "Оксаны", "Дианы",
        "Русланы", "Богданы", "Снежаны", "Сніжани", "Миланы", "Ульяны", "Мар'яни", "Роксолани",
        "Іванни", "Зоряни",
    )))
)  # fmt: skip
# Rule 8's first names: the datives in -ові/-еві/-єві of given names that Ukrainian outlets
# write, folded. A surname's dative ends alike (Бажукові, Семенові: Семенов's too), so only
# these are read as first names, and only next to a surname.
DATIVE_FIRST_NAMES: Final = frozenset(
    map(fold, (
        "Олександрові", "Дмитрові", "Петрові", "Павлові", "Михайлові", "Данилові", "Кирилові",
        "Іванові", "Богданові", "Тарасові", "Остапові", "Назарові", "Романові", "Максимові",
        "Денисові", "Вадимові", "Борисові", "Глібові", "Степанові", "Ярославові", "Святославові",
        "Владиславові", "Станіславові", "В'ячеславові", "Мирославові", "Ростиславові",
        "Володимирові", "Вікторові", "Федорові", "Антонові", "Артемові", "Олегові", "Євгенові",
        "Русланові", "Леонідові", "Семенові", "Арсенові", "Владові", "Маркові", "Юхимові",
        "Давидові", "Артурові", "Едуардові", "Альбертові", "Захарові", "Дем'янові", "Лук'янові",
        "Омелянові", "Мар'янові", "Григорієві", "Сергієві", "Андрієві", "Олексієві", "Юрієві",
        "Анатолієві", "Віталієві", "Валерієві", "Геннадієві", "Аркадієві", "Георгієві", "Матвієві",
        "Тимофієві", "Василеві", "Ігореві", "Миколаєві", "Емілеві", "Шамілеві", "Тимурові",
        "Рустамові", "Маратові", "Азаматові", "Нурланові", "Ерланові", "Айдарові", "Айбекові",
        "Улугбекові", "Алішерові", "Джамшидові", "Шерзодові", "Фаррухові", "Далерові", "Магомедові",
        "Ахмедові", "Мурадові", "Рамзанові", "Ібрагімові", "Ісмаїлові", "Ільдарові", "Ельдарові",
        "Ринатові", "Заурові", "Арманові", "Арменові", "Ашотові", "Тигранові", "Каренові",
        "Костянтинові", "Валентинові"
    ))
)  # fmt: skip
# Titles and roles an English headline capitalises before a surname ("Kazakhstan extradites
# Imam Rahimov"): no first name (`bot.people` rule 7), else the man's report naming him
# Абдулла Рахимов paired another first name and `namesakes` made him two people.
NOT_FIRST_NAMES: Final = frozenset(
    filter(None, map(name_key, (
        "Imam", "Mullah", "Sheikh", "Pastor", "Father", "Bishop", "Priest", "Rabbi", "Doctor",
        "Professor", "Colonel", "Major", "Captain", "Lieutenant", "Sergeant", "Private",
        "Soldier", "Officer", "Judge", "Lawyer", "Mayor", "Governor", "Senator", "Deputy",
        "Mister", "Activist", "Blogger", "Journalist", "Dissident", "Deserter", "Witness",
        "Critic", "Leader", "Opposition", "Refugee", "Student", "Businessman", "Poet", "Writer",
        "Artist", "Director", "Editor", "Chairman",
    )))
)  # fmt: skip
