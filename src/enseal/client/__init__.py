"""enseal.client"""
