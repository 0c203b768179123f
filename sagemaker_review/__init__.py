"""Pull-request review of synthesized CloudFormation templates (``sagemaker-review``)."""
