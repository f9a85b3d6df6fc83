"""connect(): environment selection, URL building and refusals — none of it touches the network."""

import socket

import pytest

import octopus_nb
from octopus_nb.environments import connect, environment_of_url

SANDBOX_KEY = "sk_sbox_" + "m" * 26 + "="
LIVE_KEY = "sk_" + "m" * 26 + "="


@pytest.fixture(autouse=True)
def no_network_and_no_settings(monkeypatch, tmp_path):
    """No CKO_* variables, no .env, and any attempt to open a non-loopback socket fails the test."""
    for name in ("CKO_ENVIRONMENT", "CKO_SECRET_KEY", "CKO_PREFIX", "CKO_PROCESSING_CHANNEL_ID"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    real = socket.create_connection

    def loopback_only(address, *args, **kwargs):
        assert address[0] in ("127.0.0.1", "localhost"), f"tried to reach {address}"
        return real(address, *args, **kwargs)

    monkeypatch.setattr(socket, "create_connection", loopback_only)


def test_no_arguments_starts_the_seeded_embedded_sandbox():
    with connect() as client:
        assert client.environment == "embedded"
        assert client.base_url.startswith("http://127.0.0.1:")
        assert client.sandbox.state.seed == 7
        setup = octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")
        assert setup["id"].startswith("set_")
    assert not client.sandbox.is_running()  # closing the client stops the sandbox it started


def test_the_embedded_seed_makes_ids_repeat():
    def first_id(seed):
        with connect(seed=seed) as client:
            return octopus_nb.create_payment_setup(client, amount=1000, currency="HKD")["id"]

    assert first_id(3) == first_id(3) != first_id(4)


@pytest.mark.parametrize("kwargs", [
    {"base_url": "http://127.0.0.1:9", "secret_key": "k"},
    {"environment": "sandbox", "secret_key": "sk_sbox_" + "a" * 27, "prefix": "abcdefgh"},
])
def test_confirm_response_is_refused_for_servers_it_cannot_configure(kwargs):
    with pytest.raises(octopus_nb.ConfigurationError, match="embedded sandbox"):
        connect(confirm_response="setup", **kwargs)


def test_sandbox_url_is_built_from_the_prefix():
    client = connect("sandbox", secret_key=SANDBOX_KEY, prefix="vkuhvk4v", processing_channel_id="pc_" + "a" * 26)
    assert client.base_url == "https://vkuhvk4v.api.sandbox.checkout.com"
    assert client.environment == "sandbox" and client.processing_channel_id == "pc_" + "a" * 26
    assert SANDBOX_KEY not in repr(client)


def test_production_is_refused_without_the_opt_in():
    with pytest.raises(octopus_nb.ConfigurationError, match="allow_production=True") as caught:
        connect("production", secret_key=LIVE_KEY, prefix="vkuhvk4v")
    assert isinstance(caught.value, ValueError)
    client = connect("production", secret_key=LIVE_KEY, prefix="vkuhvk4v", allow_production=True)
    assert client.base_url == "https://vkuhvk4v.api.checkout.com"


def test_a_production_base_url_also_needs_the_opt_in():
    with pytest.raises(octopus_nb.ConfigurationError, match="allow_production"):
        connect(base_url="https://vkuhvk4v.api.checkout.com", secret_key=LIVE_KEY)


@pytest.mark.parametrize(
    ("environment", "key", "message"),
    [
        ("sandbox", LIVE_KEY, "never sent to the sandbox"),
        ("production", SANDBOX_KEY, "never sent to production"),
        ("sandbox", "pk_sbox_" + "m" * 27, "should look like sk_sbox_"),
        ("sandbox", None, "CKO_SECRET_KEY"),
    ],
)
def test_key_shapes_must_fit_the_environment(environment, key, message):
    with pytest.raises(octopus_nb.ConfigurationError, match=message) as caught:
        connect(environment, secret_key=key, prefix="vkuhvk4v", allow_production=True)
    if key:
        assert key not in str(caught.value)


def test_sandbox_key_to_a_production_base_url_is_refused():
    with pytest.raises(octopus_nb.ConfigurationError, match="never sent to production"):
        connect(base_url="https://abc.api.checkout.com", secret_key=SANDBOX_KEY, allow_production=True)


def test_the_prefix_is_required_and_checked():
    with pytest.raises(octopus_nb.ConfigurationError, match="prefix"):
        connect("sandbox", secret_key=SANDBOX_KEY)
    with pytest.raises(octopus_nb.ConfigurationError, match="prefix"):
        connect("sandbox", secret_key=SANDBOX_KEY, prefix="evil.com/")


def test_settings_come_from_cko_variables(monkeypatch):
    monkeypatch.setenv("CKO_SECRET_KEY", SANDBOX_KEY)
    monkeypatch.setenv("CKO_PREFIX", "abcd1234")
    client = connect()
    assert client.environment == "sandbox" and client.base_url == "https://abcd1234.api.sandbox.checkout.com"
    with connect(seed=7) as embedded:  # a seed always means the embedded sandbox
        assert embedded.environment == "embedded"


def test_cko_environment_production_still_needs_the_opt_in(monkeypatch):
    monkeypatch.setenv("CKO_SECRET_KEY", LIVE_KEY)
    monkeypatch.setenv("CKO_PREFIX", "abcd1234")
    monkeypatch.setenv("CKO_ENVIRONMENT", "production")
    with pytest.raises(octopus_nb.ConfigurationError, match="allow_production"):
        connect()


def test_settings_come_from_a_dotenv_file(tmp_path):
    (tmp_path / ".env").write_text(f"CKO_SECRET_KEY={SANDBOX_KEY}\nCKO_PREFIX=efgh5678\nOTHER=1\n")
    assert connect().base_url == "https://efgh5678.api.sandbox.checkout.com"


def test_base_url_clients_for_a_running_sandbox(sandbox):
    with connect(base_url=sandbox.base_url, secret_key=sandbox.secret_key) as client:
        assert client.environment == "custom"
        assert octopus_nb.create_payment_setup(client, amount=1000, currency="HKD").status == 200
    with pytest.raises(octopus_nb.ConfigurationError, match="secret_key"):
        connect(base_url=sandbox.base_url)


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("https://abcd1234.api.sandbox.checkout.com", "sandbox"),
        ("https://api.sandbox.checkout.com/", "sandbox"),
        ("https://abcd1234.api.checkout.com", "production"),
        ("https://API.CHECKOUT.COM", "production"),
        ("http://127.0.0.1:8080", "custom"),
        ("https://checkout.com.evil.example", "custom"),
    ],
)
def test_environment_of_url(url, kind):
    assert environment_of_url(url) == kind


def test_unknown_environments_and_misplaced_seeds_are_refused():
    with pytest.raises(octopus_nb.ConfigurationError, match="Unknown environment"):
        connect("staging")
    with pytest.raises(octopus_nb.ConfigurationError, match="embedded sandbox only"):
        connect("sandbox", secret_key=SANDBOX_KEY, prefix="abcd1234", seed=1)
