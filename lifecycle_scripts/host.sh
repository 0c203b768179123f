#!/bin/bash
# Host layout of a SageMaker notebook instance, as variables with the real defaults.
# Every fragment sources nothing else; the composed script exports these once so that a
# test harness can point them at a simulated host without changing the scripts.
: "${NOTEBOOK_USER:=ec2-user}"
: "${SAGEMAKER_DIR:=/home/ec2-user/SageMaker}"
: "${ANACONDA_DIR:=/home/ec2-user/anaconda3}"
: "${SMC_ENVS_DIR:=${SAGEMAKER_DIR}/envs}"
: "${SMC_METADATA_FILE:=/opt/ml/metadata/resource-metadata.json}"
: "${SMC_RESTART_JUPYTER:=true}"
export NOTEBOOK_USER SAGEMAKER_DIR ANACONDA_DIR SMC_ENVS_DIR SMC_METADATA_FILE SMC_RESTART_JUPYTER
