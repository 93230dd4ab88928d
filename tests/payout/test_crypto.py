from pathlib import Path

import pytest
from pydantic import SecretStr

from kohort import crypto
from kohort.config import Settings


def test_a_value_encrypts_to_a_new_token_each_time_and_decrypts_back(settings: Settings) -> None:
    first = crypto.encrypt(settings, "FR7630006000011234567890189")
    second = crypto.encrypt(settings, "FR7630006000011234567890189")
    assert first != second
    assert "FR76" not in first and "189" not in first
    assert crypto.decrypt(settings, first) == "FR7630006000011234567890189"
    assert crypto.decrypt(settings, second) == "FR7630006000011234567890189"


def test_another_secret_key_cannot_read_a_stored_value(tmp_path: Path) -> None:
    one = Settings(data_dir=tmp_path, secret_key=SecretStr("one" * 16))
    two = Settings(data_dir=tmp_path, secret_key=SecretStr("two" * 16))
    token = crypto.encrypt(one, "sk_live_abcdefgh1234")
    assert crypto.decrypt(one, token) == "sk_live_abcdefgh1234"
    with pytest.raises(crypto.DecryptionError, match="KOHORT_SECRET_KEY"):
        crypto.decrypt(two, token)


@pytest.mark.parametrize(
    ("iban", "masked"),
    [
        ("FR7630006000011234567890189", "FR76 **** **** **** **** **** 189"),
        ("fr76 3000 6000 0112 3456 7890 189", "FR76 **** **** **** **** **** 189"),
        ("DE89370400440532013000", "DE89 **** **** **** ***0 00"),
        ("NL91ABNA0417164300", "NL91 **** **** ***3 00"),
    ],
)
def test_an_iban_is_masked_but_its_country_check_digits_and_end(iban: str, masked: str) -> None:
    assert crypto.mask_iban(iban) == masked
    assert crypto.mask_iban(iban).replace(" ", "").replace("*", "") == (
        crypto.compact_iban(iban)[:4] + crypto.compact_iban(iban)[-3:]
    )


def test_a_secret_key_shows_only_its_kind_and_last_four() -> None:
    assert crypto.mask_secret("sk_live_51Habcdefghijklmnopqrstuvwxyz1234") == "sk_live_…1234"
    assert crypto.mask_secret("sk_test_abcdefgh9876") == "sk_test_…9876"
